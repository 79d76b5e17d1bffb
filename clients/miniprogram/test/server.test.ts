/**
 * The SDK against the real server (test/server.ts): daphne, a fresh database, the fake WeChat.
 * The steps share one server and run in order; each asserts what the server did, not only what
 * the SDK says.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { ApiError, Client, Notices, parseCheckinCode, SESSION_EXPIRED, type AttendanceCounts } from "../src/index.js";
import { expired, sleep, waitUntil } from "./helpers.js";
import { SECRET_KEY, Server } from "./server.js";
import { createWx, type Shim } from "./wx-shim.js";

const STAFF = { phone: "13800000003", password: "demo-donghu-staff-2026" };
const VENUE = { latitude: 29.3575, longitude: 113.1296 };
const REFRESH = "/api/v1/auth/jwt/refresh/";
// Small delays so a test does not wait out the production backoff.
const FAST = { backoffBase: 50, backoffMax: 400, pingInterval: 1000, pongTimeout: 2000 };

let server: Server;
let staff: Client;
let communityId: number;
let residentWx: Shim;
let resident: Client;

function client(wx: Shim): Client {
  return new Client({ baseUrl: server.url, wx, retry: { baseDelay: 50, maxDelay: 200 } });
}

before(async () => {
  server = await Server.create();
  staff = client(createWx({ loginPrefix: "staff" }));
  await staff.loginWithPassword(STAFF.phone, STAFF.password);
  const me = await staff.me();
  communityId = me.roles.find((role) => role.community)?.community as number;
  assert.ok(communityId, "the demo staff account has a community");
  residentWx = createWx({ loginPrefix: "resident" });
  resident = client(residentWx);
});

after(async () => {
  await server?.close();
});

describe("signing in", () => {
  test("login through wx.login, phone binding, a PATCH sent as POST with the override", async () => {
    const login = await resident.login();
    assert.equal(login.is_new, true);
    assert.ok(resident.store.access && resident.store.refresh, "both tokens are stored");

    const profile = await resident.updateMe({ real_name: "王小明", community: communityId });
    assert.equal(profile.real_name, "王小明");
    assert.equal(profile.community, communityId);
    const sent = residentWx.calls("/api/v1/auth/users/me/").at(-1);
    assert.equal(sent?.method, "POST");
    assert.equal(sent?.header["X-HTTP-Method-Override"], "PATCH");
    assert.equal((await resident.me()).real_name, "王小明", "the server kept the change");

    const phone = await resident.bindPhone("phone-13900000001");
    assert.equal(phone.phone, "13900000001");
    assert.equal(phone.joined, false);
  });

  test("the shim refuses PATCH as wx.request does", async () => {
    const failed = await new Promise<string>((resolve) =>
      residentWx.request({ url: `${server.url}/api/v1/auth/users/me/`, method: "PATCH" as "POST", fail: (e) => resolve(e.errMsg) }),
    );
    assert.match(failed, /invalid method/);
  });

  test("a bad input is an ApiError with the server's code and fields, and changes nothing", async () => {
    const error = await resident.updateMe({ community: 987654 }).catch((e: unknown) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "validation_error");
    assert.ok(error.fields.community?.length, "the field is named");
    assert.equal((await resident.me()).community, communityId);
  });

  test("ten concurrent calls with an expired access token make one refresh", async () => {
    const oldRefresh = resident.store.refresh;
    resident.store.setTokens(expired(resident.store.access, SECRET_KEY), oldRefresh);
    const before = residentWx.calls(REFRESH).length;
    const answers = await Promise.all(Array.from({ length: 10 }, () => resident.me()));
    assert.equal(answers.length, 10);
    assert.ok(answers.every((me) => me.real_name === "王小明"));
    assert.equal(residentWx.calls(REFRESH).length - before, 1, "one refresh for ten callers");
    assert.notEqual(resident.store.refresh, oldRefresh, "the refresh token rotated");

    // The rotated-out token is refused by the server: a second refresh with it would end the session.
    const reused = await fetch(`${server.url}${REFRESH}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh: oldRefresh }),
    });
    assert.equal(reused.status, 401);
  });

  test("a refused refresh token ends the session once and clears the tokens", async () => {
    // Another device holding the same refresh token rotates it first.
    const device = client(createWx({ loginPrefix: "resident", storage: new Map(residentWx.storage) }));
    await device.refreshTokens();
    let ended = 0;
    const stale = new Client({
      baseUrl: server.url,
      wx: createWx({ loginPrefix: "resident", storage: new Map(residentWx.storage) }),
      onSessionExpired: () => ended++,
    });
    stale.store.setTokens(expired(stale.store.access, SECRET_KEY), stale.store.refresh);
    const errors = await Promise.all([stale.me(), stale.me()].map((call) => call.catch((e: unknown) => e)));
    for (const error of errors) {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, SESSION_EXPIRED);
    }
    assert.equal(ended, 1, "the app is told once");
    assert.equal(stale.store.refresh, "", "the refused tokens are gone");
    // This phone's refresh token was rotated away too: it signs in again.
    await resident.login();
    assert.ok((await resident.me()).id);
  });
});

describe("activities", () => {
  let activityId: number;

  test("staff create and publish an activity; the resident enrols", async () => {
    const now = Date.now();
    const activity = await staff.call("post", "/api/v1/activities/", {
      body: {
        community: communityId,
        title: "社区清洁日",
        category: "volunteer_service",
        description: "打扫北门花园",
        starts_at: new Date(now + 5 * 60000).toISOString(),
        ends_at: new Date(now + 2 * 3600000).toISOString(),
        place: "北门花园",
        latitude: VENUE.latitude,
        longitude: VENUE.longitude,
        radius_m: 200,
        capacity: 10,
      },
    });
    activityId = activity.id;
    await staff.call("post", "/api/v1/activities/{id}/publish/", { path: { id: String(activityId) } });
    const enrolment = await resident.call("post", "/api/v1/activities/{id}/enrollment/", {
      path: { id: String(activityId) },
    });
    assert.equal((enrolment as { status: string }).status, "enrolled");
  });

  test("a check-in whose answer is lost is retried with the same client_id: 200 and the first row", async (t) => {
    const staffWx = staff.wx as Shim;
    const notices = new Notices(staff, FAST);
    t.after(() => notices.stop());
    const counts: AttendanceCounts[] = [];
    notices.start();
    await notices.watch(activityId, (update) => counts.push(update));
    // The server sends the counts at once only when none went out in the last second (the
    // enrolment's did); later ones wait for the task worker, which this test does not run.
    await sleep(1100);

    const code = await staff.call("get", "/api/v1/activities/{id}/checkin-code/", { path: { id: String(activityId) } });
    const scanned = parseCheckinCode(encodeURIComponent(code.url));
    assert.deepEqual(scanned, { activityId, token: code.token });
    residentWx.loseAnswerOnce("/check-in/");
    const checkIn = await resident.checkIn(scanned.activityId, { token: scanned.token, ...VENUE, accuracy: 15 });
    assert.equal(checkIn.status, 200, "the first attempt wrote it; the retry is answered 200");
    const attempts = residentWx.calls(`/api/v1/activities/${activityId}/check-in/`);
    assert.equal(attempts.length, 2);
    assert.deepEqual(
      attempts.map((attempt) => (attempt.body as { client_id: string }).client_id),
      [checkIn.clientId, checkIn.clientId],
    );

    const again = await resident.checkIn(activityId, { token: code.url, ...VENUE, client_id: checkIn.clientId });
    assert.equal(again.status, 200);
    assert.deepEqual(again.data, checkIn.data);

    const second = await resident.checkIn(activityId, { token: code.url, ...VENUE }).catch((e: unknown) => e);
    assert.ok(second instanceof ApiError);
    assert.equal(second.code, "already_checked_in");
    assert.equal(second.status, 409);

    await waitUntil("live attendance with the check-in", () => counts.some((c) => c.checked_in === 1));
    assert.equal(counts.at(-1)?.activity_id, activityId);
    assert.equal(staffWx.calls(REFRESH).length, 0);
  });

  test("watching an activity out of scope is refused with the server's code", async (t) => {
    const notices = new Notices(resident, FAST);
    t.after(() => notices.stop());
    notices.start();
    const refused = await notices.watch(activityId, () => undefined).catch((e: unknown) => e);
    assert.ok(refused instanceof ApiError);
    assert.ok(["not_found", "permission_denied"].includes(refused.code), refused.code);
  });

  test("an upload through wx.uploadFile", async () => {
    const path = join(tmpdir(), `sdk-pixel-${process.pid}.png`);
    const pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    await writeFile(path, Buffer.from(pixel, "base64"));
    const upload = await resident.upload(path);
    assert.ok(Number.isInteger(upload.id));
  });
});

describe("notices", () => {
  const received: number[] = [];
  let residentId: number;

  async function post(title: string): Promise<number> {
    const notice = await staff.call("post", "/api/v1/notices/", {
      body: { title, body: `${title}的内容`, kind: "announcement", audience: { users: [residentId] } },
    });
    return notice.id;
  }

  async function inbox(): Promise<number[]> {
    const ids: number[] = [];
    for (let after = 0; ; ) {
      const page = await resident.call("get", "/api/v1/notices/", { query: { after_id: after, page_size: 100 } });
      ids.push(...page.results.map((notice) => notice.id));
      if (!page.next) return ids;
      after = ids.at(-1) as number;
    }
  }

  function listen(notices: Notices): Notices {
    notices.onNotice((notice) => received.push(notice.id));
    return notices;
  }

  test("every notice exactly once, in order: live, while away, across a server restart and an app restart", async (t) => {
    residentId = (await resident.me()).id;
    // Notices handed out before (the activity's, to the socket of an earlier test) are not handed out again.
    const handedOutBefore = resident.store.lastNoticeId;
    const first = listen(new Notices(resident, FAST));
    t.after(() => first.stop());
    first.start();
    const live = [await post("停水通知"), await post("停电通知")];
    await waitUntil("the live notices", () => live.every((id) => received.includes(id)));

    // The app goes to the background; three notices are sent meanwhile; then a token expiry on return.
    first.stop();
    const away = [await post("通知三"), await post("通知四"), await post("通知五")];
    const refreshesBefore = residentWx.calls(REFRESH).length;
    resident.store.setTokens(expired(resident.store.access, SECRET_KEY), resident.store.refresh);
    first.start();
    await waitUntil("the notices sent while away", () => away.every((id) => received.includes(id)));
    assert.equal(residentWx.calls(REFRESH).length - refreshesBefore, 1, "4401 → one refresh → reconnect");

    // The server restarts under a connected client, which reconnects with its backoff.
    await server.stop();
    await waitUntil("the client to notice", () => first.state === "waiting");
    await server.start();
    const duringReconnect = [await post("重启后通知")];
    await waitUntil("the notice sent as the client reconnects", () => received.includes(duringReconnect[0]));
    await waitUntil("the socket to reopen", () => first.state === "open");

    // Sent while the client is away and the server restarts.
    first.stop();
    await server.stop();
    await server.start();
    const afterRestart = [await post("通知七"), await post("通知八")];
    first.start();
    await waitUntil("the notices sent across the restart", () => afterRestart.every((id) => received.includes(id)));
    await waitUntil("the last id stored", () => first.lastId === afterRestart[1]);

    // The app is killed; two notices; a new client on the same storage resumes after the stored id.
    first.stop();
    const whileClosed = [await post("通知九"), await post("通知十")];
    const restarted = listen(new Notices(client(createWx({ loginPrefix: "resident", storage: residentWx.storage }))));
    t.after(() => restarted.stop());
    restarted.start();
    await waitUntil("the notices sent while the app was closed", () => whileClosed.every((id) => received.includes(id)));
    const extra = await post("最后一条");
    await waitUntil("a live notice after the app restart", () => received.includes(extra));
    restarted.stop();

    const expected = (await inbox()).filter((id) => id > handedOutBefore);
    assert.ok(expected.length >= 11);
    for (const id of [...live, ...away, ...duringReconnect, ...afterRestart, ...whileClosed, extra]) {
      assert.ok(expected.includes(id), `notice ${id} is in the inbox`);
    }
    assert.deepEqual(received, expected, "each notice of the inbox exactly once, in id order");
  });
});
