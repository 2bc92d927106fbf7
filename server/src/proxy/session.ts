// The proxy session cookie: an HMAC-signed (user, instance, expiry) triple, scoped to /i/<id>/,
// 10-minute TTL, renewed on activity. It never carries the gateway token.
import { createHmac, timingSafeEqual } from "node:crypto";

export const PROXY_COOKIE = "tropic_proxy";
export const PROXY_TTL_MS = 10 * 60_000;

export class ProxySessions {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  issue(userId: string, instanceId: string): string {
    const body = `${userId}.${instanceId}.${this.now() + PROXY_TTL_MS}`;
    return `${body}.${this.sign(body)}`;
  }

  /** The user id the cookie authorises for this instance, or null (forged, expired, other instance). */
  verify(value: string | undefined, instanceId: string): string | null {
    if (!value) return null;
    const parts = value.split(".");
    if (parts.length !== 4) return null;
    const [userId, inst, exp, sig] = parts as [string, string, string, string];
    const want = Buffer.from(this.sign(`${userId}.${inst}.${exp}`));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    if (inst !== instanceId || !(Number(exp) > this.now())) return null;
    return userId;
  }

  /** A Set-Cookie header value for a fresh session. */
  cookie(userId: string, instanceId: string, secure: boolean): string {
    return [
      `${PROXY_COOKIE}=${this.issue(userId, instanceId)}`,
      `Path=/i/${instanceId}/`,
      `Max-Age=${PROXY_TTL_MS / 1000}`,
      "HttpOnly",
      "SameSite=Lax",
      ...(secure ? ["Secure"] : []),
    ].join("; ");
  }

  private sign(s: string): string {
    return createHmac("sha256", this.key).update(s).digest("base64url");
  }
}
