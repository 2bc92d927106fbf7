// The proxy session cookie: an HMAC-signed (user, instance, dashboard session, expiry) tuple, set on
// the instance's own origin, 10-minute TTL, renewed on activity. It is bound to the dashboard session it came from: the
// proxy checks on every request that this session still exists, so signing out (or the session
// expiring) ends proxy access at once. It never carries the gateway token.
import { createHmac, timingSafeEqual } from "node:crypto";

export const PROXY_COOKIE = "tropic_proxy";
export const PROXY_TTL_MS = 10 * 60_000;

export class ProxySessions {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  issue(userId: string, instanceId: string, sessionId: string): string {
    const body = `${userId}.${instanceId}.${sessionId}.${this.now() + PROXY_TTL_MS}`;
    return `${body}.${this.sign(body)}`;
  }

  /** Whom the cookie authorises for this instance, from which session, or null (forged, expired, other instance). */
  verify(value: string | undefined, instanceId: string): { userId: string; sessionId: string } | null {
    if (!value) return null;
    const parts = value.split(".");
    if (parts.length !== 5) return null;
    const [userId, inst, sessionId, exp, sig] = parts as [string, string, string, string, string];
    const want = Buffer.from(this.sign(`${userId}.${inst}.${sessionId}.${exp}`));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    if (inst !== instanceId || !(Number(exp) > this.now())) return null;
    return { userId, sessionId };
  }

  /**
   * A Set-Cookie header value for a fresh session, on the instance's own origin (host-only, every
   * path of it). The Control UI runs in the dashboard's frame, where the instance origin is a third
   * party: the cookie is `SameSite=None; Partitioned` (CHIPS), kept apart per top-level site, which
   * browsers that block third-party cookies still allow; `Partitioned` needs `Secure`, which browsers
   * grant `http://*.localhost` too. Elsewhere the instance domain needs HTTPS.
   */
  cookie(userId: string, instanceId: string, sessionId: string): string {
    return [
      `${PROXY_COOKIE}=${this.issue(userId, instanceId, sessionId)}`,
      "Path=/",
      `Max-Age=${PROXY_TTL_MS / 1000}`,
      "HttpOnly",
      "SameSite=None",
      "Secure",
      "Partitioned",
    ].join("; ");
  }

  private sign(s: string): string {
    return createHmac("sha256", this.key).update(s).digest("base64url");
  }
}
