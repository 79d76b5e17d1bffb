/**
 * The socket client's rules on a scripted socket, where the test decides what the server says
 * and when the connection drops: the orderings a live server produces only by chance.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, Notices, type AttendanceCounts } from "../src/index.js";
import type { Wx, WxRequestOptions, WxSocketTask } from "../src/wx.js";
import { waitUntil } from "./helpers.js";

class ScriptedSocket implements WxSocketTask {
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  private onMessageCallback: (message: { data: string }) => void = () => undefined;
  private onCloseCallback: (result: { code: number; reason: string }) => void = () => undefined;

  constructor(readonly header: Record<string, string>) {}

  send({ data }: { data: string }): void {
    this.sent.push(JSON.parse(data));
  }
  close(options: { code?: number } = {}): void {
    this.closedWith = options.code ?? 1000;
  }
  onOpen(): void {}
  onError(): void {}
  onMessage(callback: (message: { data: string }) => void): void {
    this.onMessageCallback = callback;
  }
  onClose(callback: (result: { code: number; reason: string }) => void): void {
    this.onCloseCallback = callback;
  }

  say(message: Record<string, unknown>): void {
    this.onMessageCallback({ data: JSON.stringify(message) });
  }
  drop(code: number): void {
    this.onCloseCallback({ code, reason: "" });
  }
  types(): unknown[] {
    return this.sent.map((frame) => frame.type);
  }
}

interface Script {
  wx: Wx;
  sockets: ScriptedSocket[];
  connectedAt: number[];
  refreshes: number;
  storage: Map<string, unknown>;
}

function scripted(options: { refreshStatus?: number; storage?: Map<string, unknown> } = {}): Script {
  const storage = options.storage ?? new Map<string, unknown>([["pb.access", "a1"], ["pb.refresh", "r1"]]);
  const script: Script = { sockets: [], connectedAt: [], refreshes: 0, storage, wx: undefined as unknown as Wx };
  script.wx = {
    request(request: WxRequestOptions) {
      assert.ok(request.url.endsWith("/api/v1/auth/jwt/refresh/"), `unexpected request ${request.url}`);
      script.refreshes += 1;
      const n = script.refreshes + 1;
      const status = options.refreshStatus ?? 200;
      const data = status === 200 ? { access: `a${n}`, refresh: `r${n}` } : { code: "token_invalid", detail: "令牌无效" };
      setImmediate(() => request.success?.({ statusCode: status, data, header: {} }));
    },
    uploadFile() {
      throw new Error("not used");
    },
    connectSocket({ header }) {
      const socket = new ScriptedSocket(header ?? {});
      script.sockets.push(socket);
      script.connectedAt.push(Date.now());
      return socket;
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ""),
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
    login() {
      throw new Error("not used");
    },
  };
  return script;
}

function notices(script: Script, options = {}): { notices: Notices; ids: number[] } {
  const client = new Client({ baseUrl: "http://sdk.test", wx: script.wx });
  const subject = new Notices(client, { backoffBase: 40, backoffMax: 1000, pingInterval: 60000, ...options });
  const ids: number[] = [];
  subject.onNotice((notice) => ids.push(notice.id));
  return { notices: subject, ids };
}

/** A started client and the first socket it opened. */
async function started(script: Script, options = {}) {
  const made = notices(script, options);
  made.notices.start();
  await waitUntil("a socket", () => script.sockets.length === 1);
  return { ...made, socket: script.sockets[0] };
}

const notice = (id: number) => ({ type: "notice", notice: { id, title: `通知${id}` } });

test("a live notice ahead of the replay: lastId waits for resumed, the replayed copy is dropped", async () => {
  const script = scripted();
  script.storage.set("pb.lastNoticeId", 2);
  const { notices: subject, ids, socket } = await started(script);
  const first = socket;
  assert.equal(first.header.Authorization, "Bearer a1");
  first.say({ type: "hello", user_id: 1, last_notice_id: 5 });
  assert.deepEqual(first.sent[0], { type: "resume", after_id: 2 });
  first.say(notice(5));
  assert.deepEqual(ids, [5]);
  assert.equal(subject.lastId, 2, "not raised before resumed: 3 and 4 are still to come");

  first.drop(1006);
  await waitUntil("a reconnect", () => script.sockets.length === 2);
  const second = script.sockets[1];
  second.say({ type: "hello", user_id: 1, last_notice_id: 5 });
  assert.deepEqual(second.sent[0], { type: "resume", after_id: 2 });
  for (const id of [3, 4, 5]) second.say(notice(id));
  second.say({ type: "resumed", count: 3, last_notice_id: 5 });
  assert.deepEqual(ids, [5, 3, 4], "5 once");
  assert.equal(subject.lastId, 5);
  second.say(notice(6));
  assert.equal(subject.lastId, 6, "after resumed, each notice raises it");
  subject.stop();
  assert.equal(second.closedWith, 1000);
});

test("a new client on the same storage resumes after the stored id and never hands out an older one", async () => {
  const script = scripted();
  script.storage.set("pb.lastNoticeId", 10);
  const { notices: subject, ids, socket } = await started(script);
  socket.say({ type: "hello", user_id: 1, last_notice_id: 12 });
  assert.deepEqual(socket.sent[0], { type: "resume", after_id: 10 });
  for (const id of [9, 11, 12]) socket.say(notice(id));
  socket.say({ type: "resumed", count: 2, last_notice_id: 12 });
  assert.deepEqual(ids, [11, 12]);
  subject.stop();
});

test("4401 refreshes once and reconnects at once with the new token; other codes back off, doubling", async () => {
  const script = scripted();
  const { notices: subject, socket } = await started(script);
  socket.drop(4401);
  await waitUntil("a reconnect", () => script.sockets.length === 2);
  assert.equal(script.refreshes, 1);
  assert.equal(script.sockets[1].header.Authorization, "Bearer a2");
  assert.equal(script.storage.get("pb.refresh"), "r2", "the rotated refresh token is stored");

  // 4500, 1011, a code the client does not know: each waits longer (1×, 2×, 4× of 40 ms, jitter 50–100%).
  const delays: number[] = [];
  for (const code of [4500, 1011, 4999]) {
    const closedAt = Date.now();
    script.sockets.at(-1)?.drop(code);
    const count = script.sockets.length;
    await waitUntil("a reconnect", () => script.sockets.length === count + 1);
    delays.push((script.connectedAt.at(-1) as number) - closedAt);
  }
  delays.forEach((delay, retry) => {
    const base = 40 * 2 ** retry;
    assert.ok(delay >= base / 2 - 2, `retry ${retry} waited ${delay} ms, at least ${base / 2}`);
    assert.ok(delay <= base + 100, `retry ${retry} waited ${delay} ms, about ${base} at most`);
  });
  assert.equal(script.refreshes, 1, "only 4401 refreshes");

  // hello resets the backoff.
  script.sockets.at(-1)?.say({ type: "hello", user_id: 1, last_notice_id: 0 });
  const closedAt = Date.now();
  script.sockets.at(-1)?.drop(1001);
  await waitUntil("a reconnect", () => script.sockets.length === 6);
  assert.ok((script.connectedAt.at(-1) as number) - closedAt <= 40 + 50);
  subject.stop();
});

test("a refused refresh token stops the socket and says the session ended", async () => {
  const script = scripted({ refreshStatus: 401 });
  const { notices: subject, socket } = await started(script);
  let ended = 0;
  subject.onSessionExpired(() => ended++);
  socket.drop(4401);
  await waitUntil("the end of the session", () => ended === 1);
  await new Promise((wait) => setTimeout(wait, 150));
  assert.equal(script.sockets.length, 1, "no reconnect without a session");
  assert.equal(subject.state, "idle");
  assert.equal(script.storage.has("pb.refresh"), false);
});

test("watches are sent again after every hello and their events reach their callback", async () => {
  const script = scripted();
  const { notices: subject } = await started(script);
  const counts: AttendanceCounts[] = [];
  const events: string[] = [];
  subject.onEvent((event) => events.push(event.event));
  const watched = subject.watch(31, (update) => counts.push(update));
  script.sockets[0].say({ type: "hello", user_id: 1, last_notice_id: 0 });
  assert.deepEqual(script.sockets[0].sent[1], { type: "watch", activity_id: 31 });
  script.sockets[0].say({ type: "watching", activity_id: 31 });
  await watched;
  const data = { activity_id: 31, enrolled: 3, waitlisted: 0, checked_in: 1, checked_out: 0, on_leave: 0 };
  script.sockets[0].say({ type: "event", event: "attendance.changed", data });
  script.sockets[0].say({ type: "event", event: "attendance.changed", data: { ...data, activity_id: 32 } });
  assert.deepEqual(counts, [data]);
  assert.deepEqual(events, ["attendance.changed", "attendance.changed"]);

  script.sockets[0].drop(1006);
  await waitUntil("a reconnect", () => script.sockets.length === 2);
  script.sockets[1].say({ type: "hello", user_id: 1, last_notice_id: 0 });
  assert.deepEqual(script.sockets[1].types(), ["resume", "watch"]);
  subject.unwatch(31);
  assert.deepEqual(script.sockets[1].sent.at(-1), { type: "unwatch", activity_id: 31 });
  script.sockets[1].drop(1006);
  await waitUntil("a reconnect", () => script.sockets.length === 3);
  script.sockets[2].say({ type: "hello", user_id: 1, last_notice_id: 0 });
  assert.deepEqual(script.sockets[2].types(), ["resume"], "an unwatched activity is not watched again");

  const refused = subject.watch(99, () => undefined);
  script.sockets[2].say({ type: "error", code: "not_found", detail: "活动不存在", request: "watch", activity_id: 99 });
  await assert.rejects(refused, { code: "not_found" });
  subject.stop();
});

test("pings on the interval; no pong in time closes the socket and opens another", async () => {
  const script = scripted();
  const { notices: subject, socket } = await started(script, { pingInterval: 30, pongTimeout: 60 });
  socket.say({ type: "hello", user_id: 1, last_notice_id: 0 });
  await waitUntil("a ping", () => socket.types().includes("ping"));
  socket.say({ type: "pong" });
  await waitUntil("a second ping", () => socket.types().filter((type) => type === "ping").length >= 2);
  // No pong from here on.
  await waitUntil("a new socket", () => script.sockets.length === 2, 2000);
  assert.equal(socket.closedWith, 1000);
  subject.stop();
});
