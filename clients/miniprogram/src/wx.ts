/**
 * The part of the WeChat base library the SDK uses, typed here so the package needs no typings
 * package at runtime. The names and shapes follow the mini-program API (wx.request,
 * wx.uploadFile, wx.connectSocket, storage, wx.login); a test passes a shim with the same shape.
 */

export interface WxGeneralFail {
  errMsg: string;
}

export interface WxRequestSuccess {
  data: unknown;
  statusCode: number;
  header: Record<string, string>;
}

export interface WxRequestOptions {
  url: string;
  // wx.request has no PATCH: the SDK sends POST with X-HTTP-Method-Override (see client.ts).
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS";
  data?: unknown;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: "json" | "其他";
  success?: (result: WxRequestSuccess) => void;
  fail?: (error: WxGeneralFail) => void;
}

export interface WxUploadFileSuccess {
  // wx.uploadFile does not parse the answer: data is the body as text.
  data: string;
  statusCode: number;
}

export interface WxUploadFileOptions {
  url: string;
  filePath: string;
  name: string;
  header?: Record<string, string>;
  formData?: Record<string, string>;
  timeout?: number;
  success?: (result: WxUploadFileSuccess) => void;
  fail?: (error: WxGeneralFail) => void;
}

export interface WxSocketTask {
  send(options: { data: string }): void;
  close(options?: { code?: number; reason?: string }): void;
  onOpen(callback: () => void): void;
  onMessage(callback: (message: { data: string | ArrayBuffer }) => void): void;
  onClose(callback: (result: { code: number; reason: string }) => void): void;
  onError(callback: (error: WxGeneralFail) => void): void;
}

export interface WxConnectSocketOptions {
  url: string;
  header?: Record<string, string>;
  timeout?: number;
}

export interface WxLoginSuccess {
  code: string;
}

export interface Wx {
  request(options: WxRequestOptions): unknown;
  uploadFile(options: WxUploadFileOptions): unknown;
  connectSocket(options: WxConnectSocketOptions): WxSocketTask;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: unknown): void;
  removeStorageSync(key: string): void;
  login(options: { timeout?: number; success?: (result: WxLoginSuccess) => void; fail?: (error: WxGeneralFail) => void }): void;
}

/** The global `wx` of the mini-program, when the SDK runs in one. */
export function globalWx(): Wx {
  const candidate = (globalThis as { wx?: Wx }).wx;
  if (!candidate) {
    throw new Error("没有 wx 对象: 请在小程序中使用, 或在选项中传入 wx");
  }
  return candidate;
}
