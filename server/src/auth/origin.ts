// Where a browser request comes from. A page on another site can make the user's browser send
// Tropic's cookies (a form post, a fetch with credentials, a WebSocket): state-changing requests
// authenticated by cookie must come from Tropic's own origin. API tokens are never sent by a browser
// on its own, so they are not affected.
import type { IncomingHttpHeaders } from "node:http";

/**
 * Whether `origin` is Tropic's own: the public URL's origin when one is configured, else the host the
 * request was sent to (either scheme: a laptop's http://localhost:8080).
 */
export function isOwnOrigin(origin: string, host: string | undefined, publicOrigin: string | undefined): boolean {
  if (publicOrigin !== undefined) return origin === publicOrigin;
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Why a cookie-authenticated browser request must be refused as cross-site, or null: a foreign
 * `Origin`, or `Sec-Fetch-Site` other than same-origin / none (typed or bookmarked). A request with
 * neither header is not a browser's (curl with a cookie) and passes.
 */
export function crossSiteReason(headers: IncomingHttpHeaders, publicOrigin: string | undefined): string | null {
  const origin = headers.origin;
  if (origin !== undefined && origin !== "null" && !isOwnOrigin(origin, headers.host, publicOrigin)) return `the request comes from ${origin}`;
  if (origin === "null") return "the request comes from an opaque origin";
  const site = headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return `the request comes from another site (Sec-Fetch-Site: ${site})`;
  return null;
}
