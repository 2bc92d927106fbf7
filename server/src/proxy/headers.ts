// Which replies are proxied gateway responses: app.ts's onSend hook leaves framing headers off those.
const proxied = new WeakSet<object>();
export const markProxied = (reply: object) => void proxied.add(reply);
export const isProxied = (reply: object) => proxied.has(reply);

/** Hop-by-hop headers, never forwarded in either direction. */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Response headers of the gateway that would stop the UI loading inside the dashboard's iframe. */
export const FRAMING = new Set(["x-frame-options", "content-security-policy"]);

/** Drops Tropic's own cookies from a Cookie header: the gateway must never see the user's session. */
export function stripOwnCookies(cookie: string | undefined, own: string[]): string | undefined {
  if (!cookie) return undefined;
  const kept = cookie
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c && !own.includes(c.split("=")[0]!.trim()));
  return kept.length ? kept.join("; ") : undefined;
}
