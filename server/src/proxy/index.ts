// The authenticated gateway proxy: /i/<instanceId>/… (HTTP and WebSocket) → the instance's gateway.
// Auth: the proxy session cookie, else the normal identity (session cookie, trp_ API token, OIDC JWT);
// the caller must own the instance (404 otherwise, same body as a missing one). The gateway serves its
// Control UI under the same /i/<id> base path, so paths are forwarded unchanged, except the gateway's
// own root endpoints (/i/<id>/v1/… → /v1/…).
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from "node:http";
import { connect } from "node:net";
import { ClientFrameGuard } from "./ws-guard.ts";
import type { Duplex } from "node:stream";
import { gatewayBasePath } from "@tropic/providers";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { type Identity, SESSION_COOKIE } from "../auth/identity.ts";
import { isOwnOrigin } from "../auth/origin.ts";
import type { Db } from "../db/connect.ts";
import { instances, type SealedJson } from "../db/schema.ts";
import { openJson } from "../instances/tokens.ts";
import { ApiError, forbidden, notFound, unauthorized } from "../lib/errors.ts";
import { claimUpgrade } from "../lib/upgrades.ts";
import type { RouteDeps } from "../routes/index.ts";
import { FRAMING, HOP_BY_HOP, markProxied, stripOwnCookies } from "./headers.ts";
import { frameableCsp, InstanceOrigins, NO_INSTANCE_ORIGIN, type RequestSite, scriptHash, siteOf } from "./origin.ts";
import { PROXY_COOKIE, ProxySessions } from "./session.ts";
import { ProxyTickets } from "./tickets.ts";
import { selectUpstream, type Upstream, upstreamOrigin } from "./upstream.ts";

const PREFIX = /^\/i\/([^/?#]+)(\/[^?#]*)?(\?.*)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OWN_COOKIES = [SESSION_COOKIE, PROXY_COOKIE];
const KEEPALIVE_MS = 30_000;
const LOOKUP_TTL_MS = 1000;
/** The gateway's endpoints outside the Control UI's base path (OpenAI-compatible API, tools, hooks, health). */
const GATEWAY_ROOT = /^\/(?:v1\/|tools\/|hooks\/|healthz$|readyz$)/;

/** The path on the gateway for /i/<id><rest><query>. */
export function upstreamPath(instanceId: string, rest: string | undefined, query: string | undefined): string {
  const r = rest ?? "/";
  return GATEWAY_ROOT.test(r) ? `${r}${query ?? ""}` : `${gatewayBasePath(instanceId)}${r}${query ?? ""}`;
}

/**
 * A gateway redirect as the browser must see it: the upstream's own origin dropped, root paths put
 * under the instance's prefix. Relative and foreign locations are left alone.
 */
export function rewriteLocation(location: string, up: Upstream, instanceId: string): string {
  const base = gatewayBasePath(instanceId);
  let path = location;
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    let u: URL;
    try {
      u = new URL(location);
    } catch {
      return location;
    }
    if (u.origin !== upstreamOrigin(up)) return location;
    path = `${u.pathname}${u.search}${u.hash}`;
  }
  if (!path.startsWith("/") || path.startsWith("//")) return path;
  return path === base || path.startsWith(`${base}/`) ? path : `${base}${path}`;
}

type Resolved = {
  userId: string;
  /** the dashboard session this access rides on (a proxy cookie is bound to it); null for API tokens and JWTs */
  sessionId: string | null;
  instanceId: string;
  row: InstanceRoute;
};

/** Which origin a request came in on: the dashboard's, or the instance's own (`<id>.<domain>`). */
type Where = { kind: "dashboard"; site: RequestSite } | { kind: "instance"; site: RequestSite; instanceId: string };

/** The script that sends the hand-off form (a hash in the page's CSP lets it, and nothing else, run). */
const SUBMIT_SCRIPT = "document.forms[0].submit()";
const HANDOFF_PATH = "/_tropic/handoff";
const MAX_HANDOFF_BODY = 4096;

export const proxyRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const sessions = new ProxySessions(deps.kek.derive("gateway-proxy-session"));
  const tickets = new ProxyTickets(deps.database.db);
  const origins = new InstanceOrigins(deps.config.publicUrl, deps.config.instanceDomain);
  const db = deps.database.db;

  /** Auth + ownership + upstream; throws the API's 401/404 errors. */
  const lookup = new InstanceLookup(db);
  // Kept-alive connections to the gateways, owned here so that a shutdown closes them (the global
  // agent's would keep the process alive after the server closed).
  const agent = new Agent({ keepAlive: true, timeout: 60_000 });
  const tunnelAgent = new TunnelAgent();
  app.addHook("onClose", async () => {
    agent.destroy();
    tunnelAgent.destroy();
  });
  const publicOrigin = deps.config.publicUrl ? new URL(deps.config.publicUrl).origin : undefined;
  const referer = `${publicOrigin ?? `http://${deps.config.host}:${deps.config.port}`}/`;
  const site = (protocol: string, host: string | undefined) => siteOf(deps.config.publicUrl, protocol, host);
  const whereOf = (site: RequestSite): Where => {
    const instanceId = origins.instanceOf(site);
    return instanceId ? { kind: "instance", site, instanceId } : { kind: "dashboard", site };
  };

  /**
   * Who is calling, for which of their instances. On an instance's own origin: its proxy cookie (or an
   * API token), and a browser's Origin must be that instance origin. On the dashboard's: the normal
   * identity, and a browser's Origin must be the dashboard's (cross-site WebSocket hijacking).
   */
  async function resolve(
    instanceId: string,
    where: Where,
    headers: IncomingHttpHeaders,
    cookies: Record<string, string | undefined>,
    identity: () => Promise<{ id: string; sessionId?: string } | null>,
  ): Promise<Resolved> {
    const origin = headers.origin;
    if (where.kind === "instance") {
      if (origin !== undefined && origin !== origins.originOf(where.instanceId, where.site))
        throw forbidden("requests to an instance's gateway must come from its own origin");
    } else if (origin !== undefined && !isOwnOrigin(origin, headers.host, publicOrigin))
      throw forbidden("cross-origin requests to an instance's gateway are refused");
    let userId: string | null = null;
    let sessionId: string | null = null;
    if (where.kind === "instance" && !headers.authorization) {
      // The proxy cookie counts only while the dashboard session it was issued for lives (sign-out,
      // expiry and a deleted account end proxy access at once).
      const by = sessions.verify(cookies[PROXY_COOKIE], instanceId);
      if (by && (await deps.identity.sessionAlive(by.sessionId, by.userId))) ({ userId, sessionId } = by);
    } else {
      const caller = await identity();
      userId = caller?.id ?? null;
      sessionId = caller?.sessionId ?? null;
    }
    if (!userId) throw unauthorized();
    if (!UUID.test(instanceId)) throw notFound("instance");
    const row = await lookup.get(instanceId);
    if (!row || row.ownerId !== userId) throw notFound("instance");
    return { userId, sessionId, instanceId, row };
  }

  function upstreamOf(r: Resolved): Upstream {
    const tunnels = deps.tunnels;
    const upstream = selectUpstream(r.row, { referer, ...(tunnels ? { tunnel: () => tunnels.openStream(r.instanceId) } : {}) });
    if (!upstream || !r.row.gatewayTokenEnc) throw new ApiError(502, "gateway_unavailable", "the instance's gateway is not reachable yet");
    return upstream;
  }

  function upstreamHeaders(headers: IncomingHttpHeaders, up: Upstream, keepUpgrade: boolean): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined || k === "authorization" || k === "cookie" || k === "host") continue;
      if (HOP_BY_HOP.has(k) && !(keepUpgrade && (k === "upgrade" || k === "connection"))) continue;
      out[k] = v;
    }
    const cookie = stripOwnCookies(headers.cookie, OWN_COOKIES);
    if (cookie) out.cookie = cookie;
    out.host = `${up.host}:${up.port}`;
    // Checked above; the gateway's own origin check then sees a same-origin browser.
    if (headers.origin !== undefined) out.origin = upstreamOrigin(up);
    Object.assign(out, up.headers);
    return out;
  }

  // The body goes to the gateway as it came: no parsing here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));

  /**
   * The dashboard's origin never renders gateway content. A browser opening /i/<id>/… there gets a
   * hand-off page (ours, no gateway bytes) that posts a one-time ticket to the instance's own origin;
   * an API client with a token is proxied as before, its answers sandboxed; anything else carried by
   * the dashboard's cookies is refused.
   */
  async function onDashboard(req: FastifyRequest<{ Params: { instanceId: string } }>, reply: FastifyReply, where: Where) {
    let r: Resolved;
    try {
      r = await resolve(req.params.instanceId, where, req.headers, req.cookies, () => deps.identity.resolve(req));
    } catch (err) {
      // A signed-out browser opening the page is sent to sign in, and back here after it; API
      // clients (no text/html in Accept) keep the JSON 401.
      if (err instanceof ApiError && err.status === 401 && isPageNavigation(req.method, req.headers)) {
        reply.header("cache-control", "no-store").header("vary", "Accept");
        return reply.redirect(signInLocation(req.url), 302);
      }
      throw err;
    }
    if (req.headers.authorization) return forward(req, reply, r, where);
    if (!isPageNavigation(req.method, req.headers) || !r.sessionId) {
      const at = origins.originOf(r.instanceId, where.site);
      throw forbidden(
        at
          ? `the instance's gateway is served on its own origin, ${at}/i/${r.instanceId}/; on the dashboard's origin it takes requests with an API token only`
          : NO_INSTANCE_ORIGIN,
      );
    }
    const target = origins.originOf(r.instanceId, where.site);
    if (!target) throw new ApiError(503, "instance_origin_unavailable", NO_INSTANCE_ORIGIN);
    const ticket = await tickets.issue(r.userId, r.instanceId, r.sessionId);
    const next = handoffNext(req.url, r.instanceId);
    reply
      .header("cache-control", "no-store")
      .header("x-frame-options", "SAMEORIGIN")
      // The form's POST must carry this origin (no-referrer or same-origin would send `Origin: null`).
      .header("referrer-policy", "strict-origin")
      .header(
        "content-security-policy",
        `default-src 'none'; script-src '${scriptHash(SUBMIT_SCRIPT)}'; form-action ${target}; frame-ancestors 'self'; base-uri 'none'`,
      )
      .type("text/html; charset=utf-8");
    return reply.send(handoffPage(`${target}${HANDOFF_PATH}`, ticket, next));
  }

  /** The instance's own origin: its gateway, and nothing else (app.ts refuses other paths here). */
  async function onInstance(req: FastifyRequest<{ Params: { instanceId: string } }>, reply: FastifyReply, where: Where & { kind: "instance" }) {
    if (req.params.instanceId.toLowerCase() !== where.instanceId) throw notFound("instance");
    let r: Resolved;
    try {
      r = await resolve(where.instanceId, where, req.headers, req.cookies, () => deps.identity.resolve(req));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && isPageNavigation(req.method, req.headers)) {
        // Back through the dashboard, which signs in if needed and hands the session over again.
        const dashboard = origins.dashboardOrigins(where.site)[0];
        if (dashboard) {
          reply.header("cache-control", "no-store").header("vary", "Accept");
          return reply.redirect(`${dashboard}${handoffNext(req.url, where.instanceId)}`, 302);
        }
      }
      throw err;
    }
    return forward(req, reply, r, where);
  }

  async function forward(req: FastifyRequest<{ Params: { instanceId: string } }>, reply: FastifyReply, r: Resolved, where: Where) {
    const upstream = upstreamOf(r);
    const m = PREFIX.exec(req.url)!;
    // The UI's relative asset paths need the trailing slash.
    if (m[2] === undefined && (req.method === "GET" || req.method === "HEAD")) return reply.redirect(`/i/${r.instanceId}/${m[3] ?? ""}`, 308);
    const path = upstreamPath(r.instanceId, m[2], m[3]);
    const onOwnOrigin = where.kind === "instance";
    const navigation = onOwnOrigin && req.method === "GET" && String(req.headers.accept ?? "").includes("text/html");
    const headers = upstreamHeaders(req.headers, upstream, false);
    if (navigation) headers["accept-encoding"] = "identity"; // the page is rewritten below
    const res = await new Promise<IncomingMessage>((resolveRes, reject) => {
      const u = httpRequest(
        upstream.connect
          ? // kept-alive streams through the instance's tunnel, pooled per instance
            ({
              agent: tunnelAgent,
              tropicInstance: r.instanceId,
              tropicTunnel: upstream.connect,
              host: upstream.host,
              port: upstream.port,
              method: req.method,
              path,
              headers,
            } as RequestOptions)
          : { agent, host: upstream.host, port: upstream.port, method: req.method, path, headers },
        resolveRes,
      );
      u.on("error", reject);
      // The browser went away before the answer was out: so does the upstream request (else its
      // socket lingers and a graceful shutdown waits for it forever).
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) u.destroy();
      });
      req.raw.pipe(u);
    }).catch(() => {
      throw new ApiError(502, "gateway_unavailable", "the instance's gateway did not answer");
    });

    reply.code(res.statusCode ?? 502);
    const setCookies: string[] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || FRAMING.has(k)) continue;
      if (k === "set-cookie") {
        // A gateway cookie belongs to the instance's origin only (on the dashboard's it would be
        // the dashboard's cookie).
        if (onOwnOrigin) setCookies.push(...(v as string[]));
      } else if (k === "location") reply.header(k, rewriteLocation(String(v), upstream, r.instanceId));
      else reply.header(k, v);
    }
    const type = String(res.headers["content-type"] ?? "");
    const inject = navigation && type.includes("text/html") && !res.headers["content-encoding"];
    if (onOwnOrigin) {
      // The gateway's CSP is kept; only the dashboard may frame the page (X-Frame-Options gives
      // way to frame-ancestors), and the token script Tropic adds is allowed by its hash.
      markProxied(reply);
      const token = inject ? await openJson(deps.kek, r.row.gatewayTokenEnc!) : undefined;
      const script = token === undefined ? undefined : tokenScript(token);
      const csp = res.headers["content-security-policy"];
      reply.header(
        "content-security-policy",
        frameableCsp(Array.isArray(csp) ? csp.join("; ") : csp, origins.dashboardOrigins(where.site), script ? [scriptHash(script)] : []),
      );
      // Renewed on every request: the 10-minute TTL runs from the last activity. Only a dashboard
      // session gets one (an API token authenticates each request itself).
      if (r.sessionId) setCookies.push(sessions.cookie(r.userId, r.instanceId, r.sessionId));
      if (setCookies.length) reply.header("set-cookie", setCookies);
      if (script) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        reply.removeHeader("content-length");
        reply.removeHeader("etag");
        reply.header("cache-control", "no-store");
        return reply.send(injectScript(Buffer.concat(chunks).toString("utf8"), script));
      }
      return reply.send(res);
    }
    // An API client on the dashboard's origin: whatever the gateway answers is never a page of this
    // origin (the default headers stay, and the sandbox keeps any HTML from running script here).
    reply.header("content-security-policy", "sandbox; default-src 'none'; frame-ancestors 'none'");
    return reply.send(res);
  }

  const handler = async (req: FastifyRequest<{ Params: { instanceId: string } }>, reply: FastifyReply) => {
    const where = whereOf(site(req.protocol, req.headers.host));
    return where.kind === "instance" ? onInstance(req, reply, where) : onDashboard(req, reply, where);
  };
  // Not part of the API document: the gateway's own surface, passed through.
  app.all("/i/:instanceId", { schema: { hide: true } }, handler);
  app.all("/i/:instanceId/*", { schema: { hide: true } }, handler);

  // The hand-off: a ticket from the dashboard's form becomes the instance origin's own proxy cookie.
  app.post(HANDOFF_PATH, { schema: { hide: true } }, async (req, reply) => {
    const where = whereOf(site(req.protocol, req.headers.host));
    if (where.kind !== "instance") throw notFound("route");
    // Posted by the dashboard's hand-off page only (a foreign page posting its own ticket would sign
    // this browser into someone else's instance).
    const origin = req.headers.origin;
    if (!origin || !origins.dashboardOrigins(where.site).includes(origin)) throw forbidden("the hand-off must come from Tropic's dashboard");
    const form = new URLSearchParams(await readSmallBody(req.raw, MAX_HANDOFF_BODY));
    const by = await tickets.redeem(form.get("ticket") ?? "", where.instanceId);
    if (!by || !(await deps.identity.sessionAlive(by.sessionId, by.userId)))
      throw unauthorized("the hand-off ticket is unknown, used or expired: open the instance again from the dashboard");
    reply
      .header("set-cookie", sessions.cookie(by.userId, where.instanceId, by.sessionId))
      .header("cache-control", "no-store")
      .redirect(handoffNext(form.get("next") ?? "", where.instanceId), 303);
  });

  attachUpgrade(app, deps.identity, resolve, upstreamOf, upstreamHeaders, (req) =>
    whereOf(site((req.socket as { encrypted?: boolean }).encrypted ? "https" : "http", req.headers.host)),
  );
};

/** A path under /i/<id>/ to land on after the hand-off: the requested one when it is safe, else the root. */
export function handoffNext(url: string, instanceId: string): string {
  const m = PREFIX.exec(url);
  const root = `/i/${instanceId}/`;
  if (!m || m[1]!.toLowerCase() !== instanceId.toLowerCase() || url.length > MAX_NEXT || /[\u0000-\u001f\u007f\\]/.test(url)) return root;
  return m[2] === undefined ? `${root}${m[3] ?? ""}` : url;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Ours, never the gateway's: a form that carries the ticket in its body to the instance origin. */
function handoffPage(action: string, ticket: string, next: string): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>Opening the Control UI…</title></head><body>' +
    `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="ticket" value="${escapeHtml(ticket)}">` +
    `<input type="hidden" name="next" value="${escapeHtml(next)}"><noscript><button type="submit">Open the Control UI</button></noscript></form>` +
    `<script>${SUBMIT_SCRIPT}</script></body></html>`
  );
}

function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new ApiError(413, "body_too_large", `the hand-off form is larger than ${limit} bytes`));
      } else chunks.push(c);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * An http.Agent whose connections are streams through instances' tunnels, kept alive between
 * requests like the direct path's (a new stream per request made the agent dial the gateway each
 * time). Pools are per instance: the gateway's host and port alone would mix instances, whose
 * gateways live in namespaces of their own and may share a port.
 */
class TunnelAgent extends Agent {
  constructor() {
    super({ keepAlive: true, timeout: 60_000 });
  }
  override getName(o?: RequestOptions): string {
    return `tunnel:${(o as { tropicInstance?: string } | undefined)?.tropicInstance}`;
  }
  // (the request's own options reach here: `tropicTunnel` opens a stream to its instance's gateway)
  override createConnection(o: RequestOptions): Duplex {
    const open = (o as { tropicTunnel?: () => Duplex }).tropicTunnel;
    if (!open) throw new Error("a tunnel request without its tunnel");
    return open();
  }
}

/** A browser loading a page (not a script's fetch or an API client): GET with text/html accepted. */
export function isPageNavigation(method: string, headers: IncomingHttpHeaders): boolean {
  return method === "GET" && !headers.authorization && String(headers.accept ?? "").includes("text/html");
}

/** The longest path kept as the return path; a longer one returns to the instance's root. */
const MAX_NEXT = 1024;

/**
 * The dashboard's sign-in page with the return path: `/signin?next=<this path and query>`. Only a
 * path under /i/ of this server is ever put there (the dashboard accepts only same-origin paths).
 */
export function signInLocation(url: string): string {
  const m = PREFIX.exec(url);
  let next = m ? url : "/";
  if (next.length > MAX_NEXT || /[\u0000-\u001f\u007f\\]/.test(next)) next = m && UUID.test(m[1]!) ? `/i/${m[1]}/` : "/";
  return `/signin?next=${encodeURIComponent(next)}`;
}

type InstanceRoute = { ownerId: string; provider: "local" | "aws" | "byo"; addresses: Record<string, unknown>; gatewayTokenEnc: SealedJson | null };

/**
 * Where an instance's gateway is and whose it is, for every proxied request: one prepared query,
 * its answer kept for a second. Proxied traffic comes in bursts (a page load is dozens of requests);
 * without this the database round trip was most of the proxy's CPU. An owner never changes; a new
 * address or a deletion is seen within the second.
 */
class InstanceLookup {
  private cache = new Map<string, { at: number; row: InstanceRoute | undefined }>();
  private query: ReturnType<InstanceLookup["build"]> | undefined;
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<InstanceRoute | undefined> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && now - hit.at < LOOKUP_TTL_MS) return hit.row;
    this.query ??= this.build();
    const [row] = await this.query.execute({ id });
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(id, { at: now, row });
    return row;
  }

  private build() {
    return this.db
      .select({
        ownerId: instances.ownerId,
        provider: instances.provider,
        addresses: instances.addresses,
        gatewayTokenEnc: instances.gatewayTokenEnc,
      })
      .from(instances)
      .where(and(eq(instances.id, sql.placeholder("id")), isNull(instances.deletedAt)))
      .limit(1)
      .prepare("tropic_proxy_instance_lookup");
  }
}

/**
 * The script that puts the gateway token into the Control UI page the way the UI itself accepts it:
 * as the URL fragment #token=… (fragments never reach a server or its logs), set before the UI boots.
 * The UI moves it into browser storage and removes it from the address bar.
 */
export function tokenScript(token: string): string {
  return (
    `(function(){var t=${JSON.stringify(token).replace(/</g, "\\u003c")};try{` +
    `if(!/(^#|&)token=/.test(location.hash))history.replaceState(history.state,"",location.pathname+location.search+"#token="+encodeURIComponent(t))` +
    "}catch(e){}})();"
  );
}

/** `script` (see tokenScript) as the first thing in the page's <head>. */
export function injectScript(html: string, script: string): string {
  const tag = `<script>${script}</script>`;
  const head = /<head[^>]*>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + tag + html.slice(head.index + head[0].length);
  return tag + html;
}

/** Both at once (tests). */
export const injectToken = (html: string, token: string) => injectScript(html, tokenScript(token));

function attachUpgrade(
  app: FastifyInstance,
  identity: Identity,
  resolve: (
    id: string,
    where: Where,
    h: IncomingHttpHeaders,
    c: Record<string, string | undefined>,
    identity: () => Promise<{ id: string } | null>,
  ) => Promise<Resolved>,
  upstreamOf: (r: Resolved) => Upstream,
  upstreamHeaders: (h: IncomingHttpHeaders, up: Upstream, keepUpgrade: boolean) => Record<string, string | string[]>,
  whereOf: (req: IncomingMessage) => Where,
) {
  // Upgraded sockets are the server's connections still: a shutdown would wait for every open
  // WebSocket to end by itself. They are closed instead (the client reconnects to another process).
  const open = new Set<Duplex>();
  app.addHook("preClose", async () => {
    for (const s of open) s.destroy();
  });
  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const m = PREFIX.exec(req.url ?? "");
    if (!m) return;
    claimUpgrade(req);
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    void (async () => {
      let r: Resolved;
      let upstream: Upstream;
      try {
        const where = whereOf(req);
        const id = decodeURIComponent(m[1]!);
        // A browser's WebSocket to a gateway comes from the instance's own origin; on the dashboard's
        // only an API client with a token is let through (a browser cannot add that header).
        if (where.kind === "instance" && id.toLowerCase() !== where.instanceId) throw notFound("instance");
        const cookies = req.headers.cookie ? app.parseCookie(req.headers.cookie) : {};
        const fake = { headers: req.headers, cookies } as unknown as FastifyRequest;
        r = await resolve(id, where, req.headers, cookies, () => identity.resolve(fake));
        if (where.kind === "dashboard" && !req.headers.authorization)
          throw forbidden("a browser reaches the instance's gateway on the instance's own origin; the dashboard's takes API tokens only");
        upstream = upstreamOf(r);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 500;
        const body = JSON.stringify(err instanceof ApiError ? err.toJSON() : { error: { code: "internal" } });
        const reason = ({ 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 502: "Bad Gateway" } as Record<number, string>)[status] ?? "Error";
        socket.end(
          `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      const path = upstreamPath(r.instanceId, m[2], m[3]);
      const headers = upstreamHeaders(req.headers, upstream, true);
      // No compression on this leg, so the guard reads the client's frames as they are.
      delete headers["sec-websocket-extensions"];
      let up: Duplex & { setKeepAlive?: (on: boolean, ms: number) => void; setTimeout?: (ms: number) => void };
      try {
        up = upstream.connect ? upstream.connect() : connect(upstream.port, upstream.host);
      } catch {
        socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        return;
      }
      let upConnected = false;
      // The browser's frames pass the guard (ws-guard.ts): no model keys stored inside OpenClaw.
      const guard = new ClientFrameGuard();
      const client = socket as Duplex & { setKeepAlive?: (on: boolean, ms: number) => void; setTimeout?: (ms: number) => void };
      // The seed: TCP keep-alive every 30 s and no idle timeout, on both legs.
      client.setKeepAlive?.(true, KEEPALIVE_MS);
      client.setTimeout?.(0);
      up.setKeepAlive?.(true, KEEPALIVE_MS);
      up.setTimeout?.(0);
      up.once("connect", () => {
        upConnected = true;
        let lines = `${req.method ?? "GET"} ${path} HTTP/1.1\r\n`;
        for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) lines += `${k}: ${one}\r\n`;
        up.write(`${lines}\r\n`);
        // pipe() applies back-pressure both ways: a slow reader pauses the other side.
        guard.pipe(up);
        if (head.length) guard.write(head);
        up.pipe(socket);
        socket.pipe(guard);
      });
      const close = () => {
        up.destroy();
        socket.destroy();
        guard.destroy();
      };
      guard.on("error", close);
      up.on("error", () => {
        if (!upConnected) socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        close();
      });
      up.on("close", close);
      socket.on("error", close);
      socket.on("close", close);
    })();
  });
}
