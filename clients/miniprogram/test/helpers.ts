import { createHmac } from "node:crypto";

export { sleep } from "../src/client.js";

/** Polls until `check` holds; fails the test with `what` after `ms`. */
export async function waitUntil(what: string, check: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wait) => setTimeout(wait, 20));
  }
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString("base64url");
}

/**
 * The same access token, expired a minute ago, signed as the server signs (HS256 with its
 * SECRET_KEY, which the test server is given): what a phone holds after the app slept.
 */
export function expired(access: string, secret: string): string {
  const [header, payload] = access.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  claims.exp = Math.floor(Date.now() / 1000) - 60;
  const body = `${header}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
