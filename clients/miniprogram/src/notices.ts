import type { Client } from "./client.js";
import { ApiError, SESSION_EXPIRED } from "./errors.js";
import type { ResponseBody } from "./typed.js";
import type { Wx, WxSocketTask } from "./wx.js";

/** One notice, the same shape as an item of `GET /api/v1/notices/`. */
export type Notice = ResponseBody<"/api/v1/notices/", "get"> extends { results: (infer N)[] } ? N : never;

export interface AttendanceCounts {
  activity_id: number;
  enrolled: number;
  waitlisted: number;
  checked_in: number;
  checked_out: number;
  on_leave: number;
}

export interface LiveEvent {
  event: string;
  data: Record<string, unknown>;
}

export type SocketState = "idle" | "connecting" | "open" | "waiting";

export interface NoticesOptions {
  /** `wss://HOST/ws/notices/`; by default the client's base URL with ws(s) and that path. */
  url?: string;
  /** Milliseconds between application pings (docs/realtime.md: 25 s). */
  pingInterval?: number;
  /** No pong within this many milliseconds: the socket is dead, reconnect. */
  pongTimeout?: number;
  /** The first reconnect delay and the cap (1 s … 30 s), each with jitter. */
  backoffBase?: number;
  backoffMax?: number;
  /** Remembered notice ids, to drop one that comes twice (live and again in a replay). */
  rememberIds?: number;
}

type Listener<T> = (value: T) => void;

interface PendingWatch {
  resolve: () => void;
  reject: (error: ApiError) => void;
}

const CLOSE_NORMAL = 1000;
const CLOSE_UNAUTHORIZED = 4401;

function socketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, "ws")}/ws/notices/`;
}

/**
 * The notices socket, as docs/realtime.md describes it: one per app, connected with the access
 * token; after `hello` it sends `resume` from the last notice id kept in storage, so notices sent
 * while the app was closed or offline arrive first, oldest first, then live ones. Each notice
 * reaches the listeners once, in id order within a replay, across reconnects and app restarts.
 *
 * Call start() in App.onShow and stop() in App.onHide.
 */
export class Notices {
  private readonly wx: Wx;
  private readonly url: string;
  private readonly pingInterval: number;
  private readonly pongTimeout: number;
  private readonly backoffBase: number;
  private readonly backoffMax: number;
  private readonly rememberIds: number;

  private socket: WxSocketTask | null = null;
  private running = false;
  private retries = 0;
  private unauthorisedInARow = 0;
  private resumed = false;
  // The highest id received on this socket; stored as lastId only once `resumed` has come.
  private seenId = 0;
  private readonly delivered = new Set<number>();
  private readonly deliveredOrder: number[] = [];
  private readonly baseline: number;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private stateValue: SocketState = "idle";

  private readonly watched = new Map<number, Set<Listener<AttendanceCounts>>>();
  private readonly pendingWatches = new Map<number, PendingWatch[]>();
  private readonly noticeListeners = new Set<Listener<Notice>>();
  private readonly eventListeners = new Set<Listener<LiveEvent>>();
  private readonly stateListeners = new Set<Listener<SocketState>>();
  private readonly expiredListeners = new Set<Listener<void>>();

  constructor(
    private readonly client: Client,
    options: NoticesOptions = {},
  ) {
    this.wx = client.wx;
    this.url = options.url ?? socketUrl(client.baseUrl);
    this.pingInterval = options.pingInterval ?? 25000;
    this.pongTimeout = options.pongTimeout ?? 10000;
    this.backoffBase = options.backoffBase ?? 1000;
    this.backoffMax = options.backoffMax ?? 30000;
    this.rememberIds = options.rememberIds ?? 2000;
    // Everything up to the stored id reached the app before (in this run or an earlier one).
    this.baseline = client.store.lastNoticeId;
  }

  /** The highest notice id handed to the app and stored: the next `resume` starts after it. */
  get lastId(): number {
    return this.client.store.lastNoticeId;
  }

  get state(): SocketState {
    return this.stateValue;
  }

  onNotice(listener: Listener<Notice>): () => void {
    return this.listen(this.noticeListeners, listener);
  }

  /** Live events (`event` frames); a hint to refresh from the REST API. */
  onEvent(listener: Listener<LiveEvent>): () => void {
    return this.listen(this.eventListeners, listener);
  }

  onState(listener: Listener<SocketState>): () => void {
    return this.listen(this.stateListeners, listener);
  }

  /** The refresh token was refused: the socket stopped, the user has to sign in again. */
  onSessionExpired(listener: Listener<void>): () => void {
    return this.listen(this.expiredListeners, listener);
  }

  private listen<T>(listeners: Set<Listener<T>>, listener: Listener<T>): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Connect (App.onShow). Does nothing while already running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.retries = 0;
    void this.connect();
  }

  /** Close the socket and stay closed (App.onHide, logout). */
  stop(): void {
    this.running = false;
    this.clearTimers();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close({ code: CLOSE_NORMAL });
    this.setState("idle");
  }

  /**
   * Live attendance of an activity (staff in its scope). Resolves when the server answers
   * `watching`, rejects with its error (`not_found`, `permission_denied`); kept across
   * reconnects (a new socket watches nothing, so each `hello` sends the watches again).
   */
  watch(activityId: number, listener: Listener<AttendanceCounts>): Promise<void> {
    let listeners = this.watched.get(activityId);
    if (!listeners) {
      listeners = new Set();
      this.watched.set(activityId, listeners);
    }
    listeners.add(listener);
    const acknowledged = new Promise<void>((resolve, reject) => {
      const pending = this.pendingWatches.get(activityId) ?? [];
      pending.push({ resolve, reject });
      this.pendingWatches.set(activityId, pending);
    });
    if (this.stateValue === "open") this.send({ type: "watch", activity_id: activityId });
    return acknowledged;
  }

  unwatch(activityId: number): void {
    if (!this.watched.delete(activityId)) return;
    // A watch withdrawn before its answer came did not fail: its promise resolves.
    this.settleWatch(activityId);
    if (this.stateValue === "open") this.send({ type: "unwatch", activity_id: activityId });
  }

  // The socket

  private setState(state: SocketState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private async connect(): Promise<void> {
    if (!this.running || this.socket) return;
    this.setState("connecting");
    let access: string;
    try {
      access = await this.client.accessToken();
    } catch (error) {
      this.failedBeforeOpen(error);
      return;
    }
    if (!this.running || this.socket) return;
    const socket = this.wx.connectSocket({ url: this.url, header: { Authorization: `Bearer ${access}` } });
    this.socket = socket;
    socket.onMessage(({ data }) => {
      if (socket === this.socket && typeof data === "string") this.handle(data);
    });
    socket.onClose(({ code }) => this.closed(socket, code));
    // wx reports a failed handshake or a dropped network as an error without a close code.
    socket.onError(() => this.closed(socket, 1006));
  }

  private failedBeforeOpen(error: unknown): void {
    if (error instanceof ApiError && error.code === SESSION_EXPIRED) {
      this.expired();
      return;
    }
    this.scheduleReconnect();
  }

  private send(message: Record<string, unknown>): void {
    this.socket?.send({ data: JSON.stringify(message) });
  }

  private handle(text: string): void {
    let message: { type?: unknown; [key: string]: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case "hello":
        this.opened();
        break;
      case "notice":
        this.received(message.notice as Notice);
        break;
      case "resumed":
        this.resumed = true;
        this.storeLastId();
        break;
      case "pong":
        if (this.pongTimer) clearTimeout(this.pongTimer);
        this.pongTimer = null;
        break;
      case "event":
        this.eventReceived({ event: String(message.event), data: (message.data as Record<string, unknown>) ?? {} });
        break;
      case "watching":
        this.settleWatch(Number(message.activity_id));
        break;
      case "error":
        if (message.request === "watch" && typeof message.activity_id === "number") {
          const error = new ApiError(0, String(message.code), String(message.detail ?? message.code));
          this.watched.delete(message.activity_id);
          this.settleWatch(message.activity_id, error);
        }
        break;
    }
  }

  private opened(): void {
    this.retries = 0;
    this.unauthorisedInARow = 0;
    this.resumed = false;
    this.seenId = this.lastId;
    this.setState("open");
    this.send({ type: "resume", after_id: this.lastId });
    for (const activityId of this.watched.keys()) this.send({ type: "watch", activity_id: activityId });
    this.clearTimers();
    this.pingTimer = setInterval(() => this.ping(), this.pingInterval);
  }

  private ping(): void {
    this.send({ type: "ping" });
    if (this.pongTimer) return;
    const socket = this.socket;
    this.pongTimer = setTimeout(() => {
      // Silent past the timeout: the connection is dead even if no close came.
      this.pongTimer = null;
      if (socket && socket === this.socket) {
        socket.close({ code: CLOSE_NORMAL });
        this.closed(socket, 1006);
      }
    }, this.pongTimeout);
  }

  private received(notice: Notice): void {
    const id = notice?.id;
    if (typeof id !== "number") return;
    this.seenId = Math.max(this.seenId, id);
    if (id > this.baseline && !this.delivered.has(id)) {
      this.delivered.add(id);
      this.deliveredOrder.push(id);
      if (this.deliveredOrder.length > this.rememberIds) this.delivered.delete(this.deliveredOrder.shift() as number);
      for (const listener of this.noticeListeners) listener(notice);
    }
    // Before `resumed`, a live notice can come ahead of older ones the replay has still to send.
    if (this.resumed) this.storeLastId();
  }

  private storeLastId(): void {
    if (this.seenId > this.lastId) this.client.store.lastNoticeId = this.seenId;
  }

  private eventReceived(event: LiveEvent): void {
    for (const listener of this.eventListeners) listener(event);
    if (event.event !== "attendance.changed") return;
    const counts = event.data as unknown as AttendanceCounts;
    for (const listener of this.watched.get(counts.activity_id) ?? []) listener(counts);
  }

  private settleWatch(activityId: number, error?: ApiError): void {
    const pending = this.pendingWatches.get(activityId);
    this.pendingWatches.delete(activityId);
    for (const waiter of pending ?? []) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  private closed(socket: WxSocketTask, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    if (!this.running) return;
    if (code === CLOSE_UNAUTHORIZED) {
      void this.reauthorise();
      return;
    }
    this.scheduleReconnect();
  }

  /** 4401: the access token expired or was refused. Refresh, then connect again at once. */
  private async reauthorise(): Promise<void> {
    this.unauthorisedInARow += 1;
    try {
      await this.client.refreshTokens();
    } catch (error) {
      this.failedBeforeOpen(error);
      return;
    }
    // A fresh token refused again is not cured by refreshing in a loop: back off.
    if (this.unauthorisedInARow > 1) this.scheduleReconnect();
    else void this.connect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    this.setState("waiting");
    const delay = Math.min(this.backoffMax, this.backoffBase * 2 ** this.retries) * (0.5 + Math.random() / 2);
    this.retries += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private expired(): void {
    this.stop();
    for (const listener of this.expiredListeners) listener();
  }
}
