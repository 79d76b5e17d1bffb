import { ApiError, errorFromResponse, networkError, SESSION_EXPIRED } from "./errors.js";
import { Store } from "./storage.js";
import type { CallOptions, Method, PathsWith, RequestBody, ResponseBody, paths } from "./typed.js";
import { globalWx, type Wx, type WxRequestOptions } from "./wx.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Milliseconds before the second attempt; doubled for each one after. */
  baseDelay: number;
  maxDelay: number;
}

export interface ClientOptions {
  /** The server, e.g. `https://api.example.org` (no trailing `/api/v1`). */
  baseUrl: string;
  /** The WeChat API; the global `wx` by default. */
  wx?: Wx;
  /** Storage keys start with this; change it to keep two servers' sessions apart. */
  storagePrefix?: string;
  /** Milliseconds before wx.request gives up. */
  timeout?: number;
  /** How writes with a client_id are retried when no answer came or the server failed. */
  retry?: Partial<RetryPolicy>;
  /** Called once when the refresh token is refused: send the user to the login page. */
  onSessionExpired?: () => void;
}

export interface Answer<T> {
  status: number;
  data: T;
}

export interface WriteResult<T> extends Answer<T> {
  /** The client_id the write was sent with (201: this call wrote it; 200: an earlier attempt had). */
  clientId: string;
}

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface RawRequest {
  method: HttpMethod;
  path: string;
  query?: object;
  body?: unknown;
}

/** The POST paths whose body has a client_id: the writes a phone retries. */
export type RetriedWritePath = {
  [P in PathsWith<"post">]: "client_id" extends keyof RequestBody<P, "post"> ? P : never;
}[PathsWith<"post">];

type WithOptionalClientId<B> = Omit<B, "client_id"> & { client_id?: string };

export type LoginResult = ResponseBody<"/api/v1/auth/wechat/login/", "post">;
export type PhoneResult = ResponseBody<"/api/v1/auth/wechat/phone/", "post">;
export type Profile = ResponseBody<"/api/v1/auth/users/me/", "get">;
export type CheckIn = ResponseBody<"/api/v1/activities/{id}/check-in/", "post">;
export type Upload = ResponseBody<"/api/v1/uploads/", "post">;

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelay: 1000, maxDelay: 8000 };
const REFRESH_PATH = "/api/v1/auth/jwt/refresh/";

/** A random UUID v4 for client_id: made once per user action and kept for every retry of it. */
export function newClientId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?(array: Uint8Array): Uint8Array } }).crypto;
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The check-in code a member scanned: wx.scanCode's `result`, or the `q` a page opened by WeChat's
 * scanner gets (URL-encoded). The token is the part after the last `/`, and starts with the
 * activity's id (docs/activities.md, "The code at the venue"). Null when it is not such a code.
 */
export function parseCheckinCode(scanned: string): { activityId: number; token: string } | null {
  let text = scanned.trim();
  if (/%2F/i.test(text)) text = decodeURIComponent(text);
  const token = text.slice(text.lastIndexOf("/") + 1);
  const match = /^(\d+)\.[^.\s]+\.[^\s]+$/.exec(token);
  return match ? { activityId: Number(match[1]), token } : null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function queryString(query: object | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(item))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function fillPath(path: string, params: object | undefined): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (params as Record<string, unknown> | undefined)?.[name];
    if (value === undefined) throw new Error(`路径参数 ${name} 缺失: ${path}`);
    return encodeURIComponent(String(value));
  });
}

function parseBody(data: unknown): unknown {
  if (typeof data !== "string") return data;
  if (data === "") return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function isAuthFailure(answer: Answer<unknown>): boolean {
  const code = (answer.data as { code?: unknown } | undefined)?.code;
  return answer.status === 401 && (code === "token_invalid" || code === "not_authenticated");
}

/**
 * The REST client: tokens in storage, one refresh at a time, the error format as ApiError,
 * PATCH through POST + X-HTTP-Method-Override, client_id on retried writes, uploads.
 */
export class Client {
  readonly wx: Wx;
  readonly store: Store;
  readonly baseUrl: string;
  private readonly timeout: number;
  private readonly retry: RetryPolicy;
  private readonly onSessionExpired?: () => void;
  private refreshing: Promise<string> | null = null;

  constructor(options: ClientOptions) {
    this.wx = options.wx ?? globalWx();
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.store = new Store(this.wx, options.storagePrefix ?? "pb.");
    this.timeout = options.timeout ?? 15000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.onSessionExpired = options.onSessionExpired;
  }

  get signedIn(): boolean {
    return Boolean(this.store.refresh);
  }

  // Signing in

  /** wx.login, then `/auth/wechat/login/`: stores the tokens and answers `{access, refresh, is_new, user}`. */
  async login(): Promise<LoginResult> {
    const code = await new Promise<string>((resolve, reject) => {
      this.wx.login({
        success: (result) => resolve(result.code),
        fail: (error) => reject(networkError(error.errMsg)),
      });
    });
    const answer = await this.send<LoginResult>({ method: "POST", path: "/api/v1/auth/wechat/login/", body: { code } });
    this.store.setTokens(answer.data.access, answer.data.refresh);
    return answer.data;
  }

  /** A console account (phone and password) signing in from the mini-program. */
  async loginWithPassword(phone: string, password: string): Promise<void> {
    const answer = await this.send<ResponseBody<"/api/v1/auth/jwt/create/", "post">>({
      method: "POST",
      path: "/api/v1/auth/jwt/create/",
      body: { phone, password },
    });
    this.store.setTokens(answer.data.access, answer.data.refresh);
  }

  /**
   * Binds the phone from a getPhoneNumber button's `code`. When the WeChat identity joins an
   * existing console account the answer carries that account's tokens, which replace ours.
   */
  async bindPhone(code: string): Promise<PhoneResult> {
    const data = await this.call("post", "/api/v1/auth/wechat/phone/", { body: { code } });
    if (data.joined && data.access && data.refresh) this.store.setTokens(data.access, data.refresh);
    return data;
  }

  logout(): void {
    this.store.clearTokens();
  }

  // Tokens

  /**
   * A new access token from the refresh token. Concurrent callers share one request: refresh
   * tokens rotate, and a second request with the same one would be refused and end the session.
   */
  refreshTokens(): Promise<string> {
    if (!this.refreshing) {
      this.refreshing = this.refreshOnce().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async refreshOnce(): Promise<string> {
    const refresh = this.store.refresh;
    if (!refresh) throw this.sessionExpired();
    let answer: Answer<unknown>;
    try {
      answer = await this.send({ method: "POST", path: REFRESH_PATH, body: { refresh } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw this.sessionExpired();
      throw error;
    }
    const tokens = answer.data as { access: string; refresh: string };
    this.store.setTokens(tokens.access, tokens.refresh);
    return tokens.access;
  }

  private sessionExpired(): ApiError {
    this.store.clearTokens();
    this.onSessionExpired?.();
    return new ApiError(401, SESSION_EXPIRED, "登录已失效, 请重新登录");
  }

  /** The stored access token, refreshed first when there is none. */
  async accessToken(): Promise<string> {
    return this.store.access || this.refreshTokens();
  }

  /**
   * Sends with the access token; on a 401 refreshes (once for all concurrent callers) and sends
   * again. A 401 is answered before the view runs, so sending again never writes twice.
   */
  private async authorised(send: (access: string) => Promise<Answer<unknown>>): Promise<Answer<unknown>> {
    const used = await this.accessToken();
    const answer = await send(used);
    if (!isAuthFailure(answer)) return answer;
    // Another caller may have refreshed meanwhile: use its token rather than spend the new refresh token.
    const current = this.store.access;
    return send(current && current !== used ? current : await this.refreshTokens());
  }

  // Requests

  private url(path: string, query?: object): string {
    return `${this.baseUrl}${path}${queryString(query)}`;
  }

  private transmit(request: RawRequest, access: string | null): Promise<Answer<unknown>> {
    const header: Record<string, string> = { Accept: "application/json" };
    let method = request.method;
    if (method === "PATCH") {
      // wx.request cannot send PATCH; every PATCH endpoint takes POST with this header.
      method = "POST";
      header["X-HTTP-Method-Override"] = "PATCH";
    }
    if (access) header.Authorization = `Bearer ${access}`;
    if (request.body !== undefined) header["Content-Type"] = "application/json";
    return new Promise((resolve, reject) => {
      const options: WxRequestOptions = {
        url: this.url(request.path, request.query),
        method: method as WxRequestOptions["method"],
        header,
        timeout: this.timeout,
        success: (result) => resolve({ status: result.statusCode, data: parseBody(result.data) }),
        fail: (error) => reject(networkError(error.errMsg)),
      };
      if (request.body !== undefined) options.data = request.body;
      this.wx.request(options);
    });
  }

  private async send<T>(request: RawRequest, auth = false): Promise<Answer<T>> {
    const answer = auth
      ? await this.authorised((access) => this.transmit(request, access))
      : await this.transmit(request, null);
    if (answer.status >= 400) throw errorFromResponse(answer.status, answer.data);
    return answer as Answer<T>;
  }

  /** Any request, signed in, without the schema's types. Throws ApiError for a status of 400 or more. */
  request<T = unknown>(method: HttpMethod, path: string, options: { query?: object; body?: unknown } = {}) {
    return this.send<T>({ method, path, ...options }, true);
  }

  /**
   * A typed call: `client.call("get", "/api/v1/activities/{id}/", {path: {id: 31}})`. The path,
   * the body and the answer are checked against the server's schema.
   */
  async call<M extends Method, P extends PathsWith<M>>(
    method: M,
    path: P,
    options: CallOptions<P, M> = {},
  ): Promise<ResponseBody<P, M>> {
    const answer = await this.send<ResponseBody<P, M>>(
      {
        method: method.toUpperCase() as HttpMethod,
        path: fillPath(path, options.path as object | undefined),
        query: options.query as object | undefined,
        body: options.body,
      },
      true,
    );
    return answer.data;
  }

  /**
   * A write a phone retries: the body gets a client_id (unless it has one), and the same body is
   * sent again when no answer came, the server was busy (429) or failed (5xx), with backoff. The
   * server answers a repeated client_id with 200 and the row the first attempt wrote.
   */
  async write<P extends RetriedWritePath>(
    path: P,
    options: { path?: CallOptions<P, "post">["path"]; body: WithOptionalClientId<RequestBody<P, "post">> },
  ): Promise<WriteResult<ResponseBody<P, "post">>> {
    const clientId = options.body.client_id ?? newClientId();
    const request: RawRequest = {
      method: "POST",
      path: fillPath(path, options.path as object | undefined),
      body: { ...options.body, client_id: clientId },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.send<ResponseBody<P, "post">>(request, true);
        return { ...answer, clientId };
      } catch (error) {
        if (!(error instanceof ApiError) || !error.isRetryable || attempt >= this.retry.attempts) throw error;
        await sleep(Math.min(this.retry.maxDelay, this.retry.baseDelay * 2 ** (attempt - 1)));
      }
    }
  }

  /**
   * One file through wx.uploadFile to `/api/v1/uploads/` (multipart, the file in `file`); other
   * records refer to the answer's id.
   */
  async upload(filePath: string, formData: Record<string, string> = {}): Promise<Upload> {
    const answer = await this.authorised(
      (access) =>
        new Promise((resolve, reject) => {
          this.wx.uploadFile({
            url: this.url("/api/v1/uploads/"),
            filePath,
            name: "file",
            formData,
            header: { Authorization: `Bearer ${access}`, Accept: "application/json" },
            timeout: this.timeout,
            success: (result) => resolve({ status: result.statusCode, data: parseBody(result.data) }),
            fail: (error) => reject(networkError(error.errMsg)),
          });
        }),
    );
    if (answer.status >= 400) throw errorFromResponse(answer.status, answer.data);
    return answer.data as Upload;
  }

  // The calls every mini-program makes

  me(): Promise<Profile> {
    return this.call("get", "/api/v1/auth/users/me/");
  }

  updateMe(changes: RequestBody<"/api/v1/auth/users/me/", "patch">): Promise<Profile> {
    return this.call("patch", "/api/v1/auth/users/me/", { body: changes });
  }

  /**
   * Check in with the scanned code (the whole QR URL or the token) and a GCJ-02 position
   * (`wx.getLocation({type: 'gcj02'})`). Retried with one client_id until an answer comes.
   */
  checkIn(
    activityId: number,
    position: { token: string; latitude: number; longitude: number; accuracy?: number; client_id?: string },
  ): Promise<WriteResult<CheckIn>> {
    return this.write("/api/v1/activities/{id}/check-in/", {
      // The schema types this id as a string (the viewset's lookup); the server takes the digits.
      path: { id: String(activityId) },
      body: position as WithOptionalClientId<RequestBody<"/api/v1/activities/{id}/check-in/", "post">>,
    });
  }
}

export type { paths };
