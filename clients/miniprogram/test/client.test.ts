/**
 * The REST client's retry and error rules on a scripted wx.request: the failures a live server
 * does not produce on demand (a proxy's 502 page, a dropped connection).
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, Client, NETWORK_ERROR } from "../src/index.js";
import type { Wx, WxRequestOptions } from "../src/wx.js";

type Reply = { status: number; data: unknown } | "drop";

function scripted(replies: Reply[]): { client: Client; sent: WxRequestOptions[] } {
  const sent: WxRequestOptions[] = [];
  const storage = new Map<string, unknown>([["pb.access", "a1"], ["pb.refresh", "r1"]]);
  const wx = {
    request(request: WxRequestOptions) {
      sent.push(request);
      const reply = replies.shift() ?? "drop";
      setImmediate(() =>
        reply === "drop"
          ? request.fail?.({ errMsg: "request:fail timeout" })
          : request.success?.({ statusCode: reply.status, data: reply.data, header: {} }),
      );
    },
    getStorageSync: (key: string) => (storage.has(key) ? storage.get(key) : ""),
    setStorageSync: (key: string, value: unknown) => void storage.set(key, value),
    removeStorageSync: (key: string) => void storage.delete(key),
  } as unknown as Wx;
  return { client: new Client({ baseUrl: "http://sdk.test", wx, retry: { baseDelay: 1, maxDelay: 5 } }), sent };
}

const CHECK_IN = { token: "7.1.x", latitude: 29.35, longitude: 113.12 };
const clientIds = (sent: WxRequestOptions[]) => sent.map((request) => (request.data as { client_id: string }).client_id);

test("a write is sent again with the same client_id after a proxy's 502 page and a dropped connection", async () => {
  const { client, sent } = scripted([
    { status: 502, data: "<html><body>502 Bad Gateway</body></html>" },
    "drop",
    { status: 201, data: { id: 5 } },
  ]);
  const result = await client.checkIn(7, CHECK_IN);
  assert.equal(result.status, 201);
  assert.deepEqual(result.data, { id: 5 });
  assert.equal(sent.length, 3);
  assert.match(result.clientId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(clientIds(sent), [result.clientId, result.clientId, result.clientId]);
  assert.equal(sent[0].url, "http://sdk.test/api/v1/activities/7/check-in/");
});

test("a refusal is not sent again: the error carries the server's code, detail and fields", async () => {
  const body = { code: "validation_error", detail: "输入有误", fields: { latitude: ["须为数字"] } };
  const { client, sent } = scripted([{ status: 400, data: body }]);
  const error = await client.checkIn(7, CHECK_IN).catch((e: unknown) => e);
  assert.ok(error instanceof ApiError);
  assert.deepEqual([error.status, error.code, error.detail, error.fields], [400, "validation_error", "输入有误", body.fields]);
  assert.equal(sent.length, 1);
});

test("no answer after every attempt: network_error, each attempt with the one client_id", async () => {
  const { client, sent } = scripted([]);
  const error = await client.checkIn(7, CHECK_IN).catch((e: unknown) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.code, NETWORK_ERROR);
  assert.equal(error.status, 0);
  assert.equal(sent.length, 4);
  assert.equal(new Set(clientIds(sent)).size, 1);
});

test("a proxy's error page is a server_error, not a crash on its HTML", async () => {
  const { client } = scripted([{ status: 502, data: "<html>Bad Gateway</html>" }]);
  const error = await client.me().catch((e: unknown) => e);
  assert.ok(error instanceof ApiError);
  assert.deepEqual([error.status, error.code], [502, "server_error"]);
});
