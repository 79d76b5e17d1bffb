/**
 * Every failure the SDK reports is an ApiError carrying the server's error format
 * `{code, detail, fields}`; failures that never reached an answer get codes of their own
 * (`network_error`, `bad_response`, `session_expired`), so a page switches on `code` alone.
 */

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fields: FieldErrors;

  constructor(status: number, code: string, detail: string, fields: FieldErrors = {}) {
    super(`${code}: ${detail}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.fields = fields;
  }

  /** No answer came (offline, timeout, the server went away): the write may or may not have happened. */
  get isNetwork(): boolean {
    return this.status === 0;
  }

  /** Worth sending again, with the same client_id for a write: no answer, throttled, or the server failed. */
  get isRetryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** The refresh token is gone or was refused: the user has to sign in again. */
export const SESSION_EXPIRED = "session_expired";
export const NETWORK_ERROR = "network_error";
export const BAD_RESPONSE = "bad_response";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldErrors(value: unknown): FieldErrors {
  if (!isRecord(value)) return {};
  const fields: FieldErrors = {};
  for (const [name, messages] of Object.entries(value)) {
    fields[name] = Array.isArray(messages) ? messages.map(String) : [String(messages)];
  }
  return fields;
}

/** The ApiError for an answer with a status of 400 or more. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  if (isRecord(body) && typeof body.code === "string") {
    const detail = typeof body.detail === "string" ? body.detail : body.code;
    return new ApiError(status, body.code, detail, fieldErrors(body.fields));
  }
  // Not our format: a proxy's error page (nginx 502) or a body cut short.
  return new ApiError(status, status >= 500 ? "server_error" : BAD_RESPONSE, `服务器返回了 HTTP ${status}`);
}

export function networkError(errMsg: string): ApiError {
  return new ApiError(0, NETWORK_ERROR, errMsg || "网络不可用");
}
