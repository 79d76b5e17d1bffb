/**
 * The WeChat base library over node: wx.request is fetch, wx.uploadFile a multipart fetch,
 * wx.connectSocket a WebSocket (the ws package: node 20 has no client of its own), storage a Map
 * that outlives a client (an "app restart" is a new client on the same storage), wx.login a
 * fresh code for the fake WeChat each call. It refuses what the real one refuses (PATCH), and
 * it records every request so a test can count them.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import WebSocket from "ws";

import type {
  Wx,
  WxConnectSocketOptions,
  WxRequestOptions,
  WxSocketTask,
  WxUploadFileOptions,
} from "../src/wx.js";

const WX_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]);

export interface SentRequest {
  method: string;
  path: string;
  header: Record<string, string>;
  body: unknown;
}

export interface Shim extends Wx {
  storage: Map<string, unknown>;
  requests: SentRequest[];
  sockets: WebSocket[];
  /** The next answer to a request whose path ends so is lost after the server acted on it. */
  loseAnswerOnce(pathSuffix: string): void;
  /** Every request to a path, e.g. the refreshes. */
  calls(path: string): SentRequest[];
}

export function createWx(options: { storage?: Map<string, unknown>; loginPrefix: string }): Shim {
  const storage = options.storage ?? new Map<string, unknown>();
  const requests: SentRequest[] = [];
  const sockets: WebSocket[] = [];
  const losing: string[] = [];
  let logins = 0;

  function record(method: string, url: string, header: Record<string, string>, body: unknown): void {
    requests.push({ method, path: new URL(url).pathname, header, body });
  }

  function takeLoss(url: string): boolean {
    const index = losing.findIndex((suffix) => new URL(url).pathname.endsWith(suffix));
    if (index < 0) return false;
    losing.splice(index, 1);
    return true;
  }

  return {
    storage,
    requests,
    sockets,
    loseAnswerOnce(pathSuffix) {
      losing.push(pathSuffix);
    },
    calls(path) {
      return requests.filter((request) => request.path === path);
    },

    request(request: WxRequestOptions) {
      const header = { ...(request.header ?? {}) };
      if (!WX_METHODS.has(request.method)) {
        setImmediate(() => request.fail?.({ errMsg: `request:fail invalid method ${request.method}` }));
        return;
      }
      record(request.method, request.url, header, request.data);
      const body = request.data === undefined ? undefined : JSON.stringify(request.data);
      const lose = takeLoss(request.url);
      fetch(request.url, { method: request.method, headers: header, body, signal: AbortSignal.timeout(request.timeout ?? 60000) })
        .then(async (response) => {
          const text = await response.text();
          if (lose) throw new Error("answer lost on the way back");
          let data: unknown = text;
          try {
            data = JSON.parse(text);
          } catch {
            // wx.request leaves a body that is not JSON as text.
          }
          const responseHeader: Record<string, string> = {};
          response.headers.forEach((value, name) => {
            responseHeader[name] = value;
          });
          request.success?.({ data, statusCode: response.status, header: responseHeader });
        })
        .catch((error: Error) => request.fail?.({ errMsg: `request:fail ${error.message}` }));
    },

    uploadFile(upload: WxUploadFileOptions) {
      const header = { ...(upload.header ?? {}) };
      record("POST", upload.url, header, { file: upload.filePath, ...upload.formData });
      readFile(upload.filePath)
        .then(async (content) => {
          const form = new FormData();
          for (const [name, value] of Object.entries(upload.formData ?? {})) form.append(name, value);
          form.append(upload.name, new Blob([content]), basename(upload.filePath));
          const response = await fetch(upload.url, { method: "POST", headers: header, body: form });
          upload.success?.({ data: await response.text(), statusCode: response.status });
        })
        .catch((error: Error) => upload.fail?.({ errMsg: `uploadFile:fail ${error.message}` }));
    },

    connectSocket(connect: WxConnectSocketOptions): WxSocketTask {
      const socket = new WebSocket(connect.url, { headers: connect.header });
      sockets.push(socket);
      // The real SocketTask takes its callbacks after connectSocket returns; so does this one.
      return {
        send: ({ data }) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(data);
        },
        close: (options = {}) => socket.close(options.code ?? 1000, options.reason),
        onOpen: (callback) => socket.on("open", () => callback()),
        onMessage: (callback) => socket.on("message", (data) => callback({ data: data.toString() })),
        onClose: (callback) => socket.on("close", (code, reason) => callback({ code, reason: reason.toString() })),
        onError: (callback) => socket.on("error", (error) => callback({ errMsg: error.message })),
      };
    },

    getStorageSync(key) {
      return storage.has(key) ? structuredClone(storage.get(key)) : "";
    },
    setStorageSync(key, value) {
      storage.set(key, structuredClone(value));
    },
    removeStorageSync(key) {
      storage.delete(key);
    },

    login(login) {
      logins += 1;
      // The fake WeChat derives the openid from the part before ":", and takes each code once.
      setImmediate(() => login.success?.({ code: `${options.loginPrefix}:${logins}` }));
    },
  };
}
