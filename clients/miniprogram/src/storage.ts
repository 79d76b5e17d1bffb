import type { Wx } from "./wx.js";

/**
 * What the SDK keeps in the mini-program's storage, so it survives an app restart: the two
 * tokens and the highest notice id the app has been handed (the `resume` point).
 */
export class Store {
  constructor(
    private readonly wx: Wx,
    private readonly prefix: string,
  ) {}

  private read(key: string): unknown {
    // getStorageSync answers "" for a missing key.
    return this.wx.getStorageSync(this.prefix + key);
  }

  private write(key: string, value: string | number | null): void {
    if (value === null || value === "") this.wx.removeStorageSync(this.prefix + key);
    else this.wx.setStorageSync(this.prefix + key, value);
  }

  get access(): string {
    const value = this.read("access");
    return typeof value === "string" ? value : "";
  }

  get refresh(): string {
    const value = this.read("refresh");
    return typeof value === "string" ? value : "";
  }

  setTokens(access: string, refresh: string): void {
    this.write("access", access);
    this.write("refresh", refresh);
  }

  clearTokens(): void {
    this.write("access", null);
    this.write("refresh", null);
  }

  get lastNoticeId(): number {
    const value = Number(this.read("lastNoticeId"));
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  set lastNoticeId(value: number) {
    this.write("lastNoticeId", value);
  }
}
