// The authenticated gateway proxy: /i/<instanceId>/… (HTTP and WebSocket) → the instance's gateway.
// Auth: the proxy session cookie, else the normal identity (session cookie, trp_ API token, OIDC JWT);
// the caller must own the instance (404 otherwise, same body as a missing one). The gateway serves its
// Control UI under the same /i/<id> base path, so paths are forwarded unchanged, except the gateway's
// own root endpoints (/i/<id>/v1/… → /v1/…).
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from "node:http";
import { connect, type Socket } from "node:net";
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
import { PROXY_COOKIE, ProxySessions } from "./session.ts";
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
  upstream: Upstream;
  token: () => Promise<string>;
};

export const proxyRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const sessions = new ProxySessions(deps.kek.derive("gateway-proxy-session"));
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

  async function resolve(
    instanceId: string,
    headers: IncomingHttpHeaders,
    cookies: Record<string, string | undefined>,
    identity: () => Promise<{ id: string; sessionId?: string } | null>,
  ): Promise<Resolved> {
    // A page on another site must not drive the user's gateway with the user's cookies (cross-site
    // WebSocket hijacking): a browser's Origin must be Tropic's own.
    const origin = headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, headers.host, publicOrigin))
      throw forbidden("cross-origin requests to an instance's gateway are refused");
    // The proxy cookie counts only while the dashboard session it was issued for lives (sign-out,
    // expiry and a deleted account end proxy access at once).
    let by = headers.authorization ? null : sessions.verify(cookies[PROXY_COOKIE], instanceId);
    if (by && !(await deps.identity.sessionAlive(by.sessionId, by.userId))) by = null;
    let userId = by?.userId ?? null;
    let sessionId = by?.sessionId ?? null;
    if (!userId) {
      const caller = await identity();
      userId = caller?.id ?? null;
      sessionId = caller?.sessionId ?? null;
    }
    if (!userId) throw unauthorized();
    if (!UUID.test(instanceId)) throw notFound("instance");
    const row = await lookup.get(instanceId);
    if (!row || row.ownerId !== userId) throw notFound("instance");
    const tunnels = deps.tunnels;
    const upstream = selectUpstream(row, { referer, ...(tunnels ? { tunnel: () => tunnels.openStream(instanceId) } : {}) });
    if (!upstream || !row.gatewayTokenEnc) throw new ApiError(502, "gateway_unavailable", "the instance's gateway is not reachable yet");
    const enc = row.gatewayTokenEnc;
    return { userId, sessionId, instanceId, upstream, token: () => openJson(deps.kek, enc) };
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

  const handler = async (req: FastifyRequest<{ Params: { instanceId: string } }>, reply: FastifyReply) => {
    let r: Resolved;
    try {
      r = await resolve(req.params.instanceId, req.headers, req.cookies, () => deps.identity.resolve(req));
    } catch (err) {
      // A signed-out browser opening the page is sent to sign in, and back here after it; API
      // clients (no text/html in Accept) keep the JSON 401.
      if (err instanceof ApiError && err.status === 401 && isPageNavigation(req.method, req.headers)) {
        reply.header("cache-control", "no-store").header("vary", "Accept");
        return reply.redirect(signInLocation(req.url), 302);
      }
      throw err;
    }
    const m = PREFIX.exec(req.url)!;
    // The UI's relative asset paths and the cookie's Path need the trailing slash.
    if (m[2] === undefined && (req.method === "GET" || req.method === "HEAD"))
      return reply.redirect(`/i/${req.params.instanceId}/${m[3] ?? ""}`, 308);
    const path = upstreamPath(r.instanceId, m[2], m[3]);
    const navigation = req.method === "GET" && String(req.headers.accept ?? "").includes("text/html");
    const headers = upstreamHeaders(req.headers, r.upstream, false);
    if (navigation) headers["accept-encoding"] = "identity"; // the page is rewritten below
    const res = await new Promise<IncomingMessage>((resolveRes, reject) => {
      const u = httpRequest(
        r.upstream.connect
          ? // kept-alive streams through the instance's tunnel, pooled per instance
            ({
              agent: tunnelAgent,
              tropicInstance: r.instanceId,
              tropicTunnel: r.upstream.connect,
              host: r.upstream.host,
              port: r.upstream.port,
              method: req.method,
              path,
              headers,
            } as RequestOptions)
          : { agent, host: r.upstream.host, port: r.upstream.port, method: req.method, path, headers },
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

    markProxied(reply);
    reply.code(res.statusCode ?? 502);
    const setCookies: string[] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || FRAMING.has(k)) continue;
      if (k === "set-cookie") setCookies.push(...(v as string[]));
      else if (k === "location") reply.header(k, rewriteLocation(String(v), r.upstream, r.instanceId));
      else reply.header(k, v);
    }
    // Renewed on every request: the 10-minute TTL runs from the last activity. Only a dashboard
    // session gets one (an API token or JWT authenticates each request itself).
    if (r.sessionId) setCookies.push(sessions.cookie(r.userId, r.instanceId, r.sessionId, req.protocol === "https"));
    if (setCookies.length) reply.header("set-cookie", setCookies);

    const type = String(res.headers["content-type"] ?? "");
    if (navigation && type.includes("text/html") && !res.headers["content-encoding"]) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const html = injectToken(Buffer.concat(chunks).toString("utf8"), await r.token());
      reply.removeHeader("content-length");
      reply.removeHeader("etag");
      reply.header("cache-control", "no-store");
      return reply.send(html);
    }
    return reply.send(res);
  };
  // Not part of the API document: the gateway's own surface, passed through.
  app.all("/i/:instanceId", { schema: { hide: true } }, handler);
  app.all("/i/:instanceId/*", { schema: { hide: true } }, handler);

  attachUpgrade(app, deps.identity, resolve, upstreamHeaders);
};

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
 * Puts the gateway token into the Control UI page the way the UI itself accepts it: as the URL
 * fragment #token=… (fragments never reach a server or its logs), set before the UI boots. The UI
 * moves it into browser storage and removes it from the address bar.
 */
export function injectToken(html: string, token: string): string {
  const script =
    `<script>(function(){var t=${JSON.stringify(token).replace(/</g, "\\u003c")};try{` +
    `if(!/(^#|&)token=/.test(location.hash))history.replaceState(history.state,"",location.pathname+location.search+"#token="+encodeURIComponent(t))` +
    "}catch(e){}})();</script>";
  const head = /<head[^>]*>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + script + html.slice(head.index + head[0].length);
  return script + html;
}

function attachUpgrade(
  app: FastifyInstance,
  identity: Identity,
  resolve: (
    id: string,
    h: IncomingHttpHeaders,
    c: Record<string, string | undefined>,
    identity: () => Promise<{ id: string } | null>,
  ) => Promise<Resolved>,
  upstreamHeaders: (h: IncomingHttpHeaders, up: Upstream, keepUpgrade: boolean) => Record<string, string | string[]>,
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
      try {
        const cookies = req.headers.cookie ? app.parseCookie(req.headers.cookie) : {};
        const fake = { headers: req.headers, cookies } as unknown as FastifyRequest;
        r = await resolve(decodeURIComponent(m[1]!), req.headers, cookies, () => identity.resolve(fake));
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 500;
        const body = JSON.stringify(err instanceof ApiError ? err.toJSON() : { error: { code: "internal" } });
        const reason = ({ 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" } as Record<number, string>)[status] ?? "Error";
        socket.end(
          `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      const path = upstreamPath(r.instanceId, m[2], m[3]);
      const headers = upstreamHeaders(req.headers, r.upstream, true);
      // No compression on this leg, so the guard reads the client's frames as they are.
      delete headers["sec-websocket-extensions"];
      let up: Duplex & { setKeepAlive?: (on: boolean, ms: number) => void; setTimeout?: (ms: number) => void };
      try {
        up = r.upstream.connect ? r.upstream.connect() : connect(r.upstream.port, r.upstream.host);
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
