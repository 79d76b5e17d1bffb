export { Client, newClientId, parseCheckinCode } from "./client.js";
export type {
  Answer,
  CheckIn,
  ClientOptions,
  LoginResult,
  PhoneResult,
  Profile,
  RetriedWritePath,
  RetryPolicy,
  Upload,
  WriteResult,
} from "./client.js";
export { ApiError, BAD_RESPONSE, NETWORK_ERROR, SESSION_EXPIRED } from "./errors.js";
export type { FieldErrors } from "./errors.js";
export { Notices } from "./notices.js";
export type { AttendanceCounts, LiveEvent, Notice, NoticesOptions, SocketState } from "./notices.js";
export type { components, paths, RequestBody, ResponseBody } from "./typed.js";
export type { Wx, WxSocketTask } from "./wx.js";
