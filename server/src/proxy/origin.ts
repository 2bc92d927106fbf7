// Each instance's Control UI lives on an origin of its own, `<scheme>://<instance id>.<instance domain>`
// (docs/proxy.md): a script in a gateway page then runs on a site that holds none of the dashboard's
// cookies, cannot read its API (no CORS) and is refused on its state-changing routes (auth/origin.ts);
// nor can it reach another instance's origin.
//   - TROPIC_PUBLIC_URL set: the dashboard is its origin; the instance domain is TROPIC_INSTANCE_DOMAIN
//     (a wildcard DNS name with its certificate, e.g. `i.tropic.example`), else `i.<public host>`, or
//     `localhost` when the public host is a loopback name.
//   - No public URL (a laptop's `npm start`): the dashboard is whatever loopback name it is opened on,
//     and instances are `<id>.localhost` on the same port (browsers resolve `*.localhost` to loopback
//     themselves). A dashboard reached on another address needs TROPIC_PUBLIC_URL.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../lib/errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Where a request was sent: its scheme and Host (`host` or `host:port`). */
export interface RequestSite {
  protocol: "http" | "https";
  host: string | undefined;
}

function splitHost(host: string): { name: string; port: string } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.toLowerCase());
  return { name: (m?.[1] ?? host.toLowerCase()).replace(/\.$/, ""), port: m?.[2] ?? "" };
}

const portPart = (scheme: string, port: string) =>
  port && !((scheme === "http" && port === "80") || (scheme === "https" && port === "443")) ? `:${port}` : "";

/** Why instance origins cannot be made for this request, in the words of the settings that fix it. */
export const NO_INSTANCE_ORIGIN =
  "each instance's Control UI is served on an origin of its own: set TROPIC_PUBLIC_URL (and TROPIC_INSTANCE_DOMAIN, a wildcard DNS name) to open it on this address, or open the dashboard on localhost";

export class InstanceOrigins {
  private readonly publicUrl: URL | undefined;
  private readonly domain: string | undefined;

  constructor(publicUrl: string | undefined, instanceDomain: string | undefined) {
    this.publicUrl = publicUrl ? new URL(publicUrl) : undefined;
    const configured = instanceDomain?.toLowerCase().replace(/^\.+|\.+$/g, "");
    if (configured) this.domain = configured;
    else if (!this.publicUrl) this.domain = "localhost";
    else {
      const name = this.publicUrl.hostname.toLowerCase();
      this.domain = LOOPBACK.has(name) ? "localhost" : isIP(name.replace(/^\[|\]$/g, "")) ? undefined : `i.${name}`;
    }
  }

  /** The scheme and port the instance origins share with the dashboard, or undefined (NO_INSTANCE_ORIGIN). */
  private base(site: RequestSite): { scheme: string; port: string } | undefined {
    if (!this.domain) return undefined;
    if (this.publicUrl) return { scheme: this.publicUrl.protocol.slice(0, -1), port: this.publicUrl.port };
    if (!site.host) return undefined;
    const { name, port } = splitHost(site.host);
    // Without a public URL only a loopback dashboard (or one of its instance origins) knows its port.
    if (!LOOPBACK.has(name) && !name.endsWith(`.${this.domain}`)) return undefined;
    return { scheme: site.protocol, port };
  }

  /** `<scheme>://<id>.<domain>[:port]`, or undefined (NO_INSTANCE_ORIGIN). */
  originOf(instanceId: string, site: RequestSite): string | undefined {
    const b = this.base(site);
    return b ? `${b.scheme}://${instanceId.toLowerCase()}.${this.domain}${portPart(b.scheme, b.port)}` : undefined;
  }

  /** The CSP source matching every instance origin (`http://*.localhost:8080`), for the dashboard's frame-src. */
  frameSource(site: RequestSite): string | undefined {
    const b = this.base(site);
    return b ? `${b.scheme}://*.${this.domain}${portPart(b.scheme, b.port)}` : undefined;
  }

  /**
   * The dashboard's origins: the public URL's, or the loopback names on this port. Not `[::1]`: CSP
   * source expressions cannot name an IPv6 address (Chromium rejects the whole directive's source),
   * so a dashboard opened on `http://[::1]:8080` cannot frame its instances; use localhost.
   */
  dashboardOrigins(site: RequestSite): string[] {
    if (this.publicUrl) return [this.publicUrl.origin];
    const b = this.base(site);
    if (!b) return [];
    return ["localhost", "127.0.0.1"].map((h) => `${b.scheme}://${h}${portPart(b.scheme, b.port)}`);
  }

  /** The instance a request was sent to on its own origin (`Host: <id>.<domain>[:port]`), or undefined. */
  instanceOf(site: RequestSite): string | undefined {
    if (!site.host || !this.domain) return undefined;
    const { name } = splitHost(site.host);
    const dot = name.indexOf(".");
    if (dot <= 0 || name.slice(dot + 1) !== this.domain) return undefined;
    const id = name.slice(0, dot);
    return UUID.test(id) ? id : undefined;
  }
}

/**
 * The gateway's Content-Security-Policy as served on the instance's own origin: kept as the gateway
 * sent it, except `frame-ancestors` (the dashboard may frame it) and the hashes of the scripts Tropic
 * injects, added to `script-src` (or to a `script-src` made from `default-src`). A response without a
 * CSP gets only `frame-ancestors`.
 */
export function frameableCsp(csp: string | undefined, frameAncestors: string[], scriptHashes: string[] = []): string {
  const directives = (csp ?? "")
    .split(";")
    .map((d) => d.trim())
    .filter(Boolean)
    .filter((d) => !/^frame-ancestors(\s|$)/i.test(d));
  if (scriptHashes.length) {
    const tokens = scriptHashes.map((h) => `'${h}'`).join(" ");
    const i = directives.findIndex((d) => /^script-src(\s|$)/i.test(d));
    // 'unsafe-inline' already runs every inline script, and a hash next to it would switch it off.
    const inlineAllowed = (d: string) => /'unsafe-inline'/i.test(d) && !/'(?:nonce|sha256|sha384|sha512)-/i.test(d);
    if (i >= 0) {
      if (!inlineAllowed(directives[i]!)) directives[i] = `${directives[i]} ${tokens}`;
    } else {
      const def = directives.find((d) => /^default-src(\s|$)/i.test(d));
      if (def && !inlineAllowed(def)) directives.push(`script-src${def.slice("default-src".length)} ${tokens}`);
    }
  }
  directives.push(`frame-ancestors ${frameAncestors.length ? frameAncestors.join(" ") : "'none'"}`);
  return directives.join("; ");
}

/** The CSP hash source (`sha256-…`) of an inline script's text. */
export function scriptHash(text: string): string {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}

/** The site a request came to: the public URL's scheme when there is one, else the connection's. */
export function siteOf(publicUrl: string | undefined, protocol: string, host: string | undefined): RequestSite {
  const scheme = publicUrl ? new URL(publicUrl).protocol.slice(0, -1) : protocol;
  return { protocol: scheme === "https" ? "https" : "http", host };
}

const ON_INSTANCE_ORIGIN = /^\/(?:i\/([^/?#]+)(?:[/?#].*)?|_tropic\/handoff(?:\?.*)?)$/;

/**
 * An instance's own origin serves its gateway and the hand-off, nothing else: no API, no dashboard,
 * no other instance. Its root goes to the Control UI. (An onRequest hook: it runs before routing.)
 */
export function instanceOriginGuard(origins: InstanceOrigins, publicUrl: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const id = origins.instanceOf(siteOf(publicUrl, req.protocol, req.headers.host));
    if (!id) return;
    const url = req.url;
    if (url === "/" || url.startsWith("/?")) return reply.redirect(`/i/${id}/`, 302);
    const m = ON_INSTANCE_ORIGIN.exec(url);
    if (m && (m[1] === undefined || decodeURIComponent(m[1]).toLowerCase() === id)) return;
    return reply.code(404).send(new ApiError(404, "not_found", "an instance's origin serves only its gateway").toJSON());
  };
}
