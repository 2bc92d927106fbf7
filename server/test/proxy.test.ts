// The gateway proxy (/i/<id>/…): against a stand-in upstream (a tiny HTTP + WebSocket echo server on
// 127.0.0.1 in place of an OpenClaw gateway), against the same stand-in behind a real nginx with the
// VM's site (the cloud path), and against a real gateway in a real browser.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { eq } from "drizzle-orm";
import { WebSocket, WebSocketServer } from "ws";
import { instances } from "../src/db/schema.ts";
import { sealJson } from "../src/instances/tokens.ts";
import { rewriteLocation, upstreamPath } from "../src/proxy/index.ts";
import { scriptHash } from "../src/proxy/origin.ts";
import { ProxySessions } from "../src/proxy/session.ts";
import { ProxyTickets } from "../src/proxy/tickets.ts";
import { isPrivateAddress, selectUpstream } from "../src/proxy/upstream.ts";
import { freePort, renderNginxSite } from "@tropic/providers";
import { chromium } from "playwright-core";
import { ScriptedModel } from "../../plugin/test/model-server.ts";
import { NGINX_BIN, startNginx } from "./nginx.ts";
import { memoryTunnels } from "./stand-in-agent.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { signUp, TEST_KEY, testApp } from "./harness.ts";
import {
  ARTIFACTS,
  Api,
  CHROMIUM,
  CHROMIUM_ARGS,
  destroyAll,
  freshDataDir,
  inProcessServer,
  instanceFiles,
  ProxiedGatewayClient,
  removeDir,
  sleep,
  standInInternet,
} from "./instances-harness.ts";

const GATEWAY_TOKEN = "ab12".repeat(12); // 48 hex characters

/** The attacker's script in a proxied page: it reports what it could read and send. */
const INJECTED_SCRIPT = `(async () => {
  const dash = new URLSearchParams(location.search).get("dash");
  const r = { origin: location.origin, cookie: document.cookie };
  try { r.parentCookie = "read:" + parent.document.cookie; } catch (e) { r.parentCookie = "blocked:" + e.name; }
  try { const x = await fetch(dash + "/api/v1/me", { credentials: "include" }); r.me = "read:" + x.status + ":" + (await x.text()).slice(0, 80); } catch (e) { r.me = "blocked:" + e.name; }
  try { const x = await fetch(dash + "/api/v1/tokens", { method: "POST", credentials: "include", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "pwned" }) }); r.token = "read:" + x.status; } catch (e) { r.token = "blocked:" + e.name; }
  try { await fetch(dash + "/api/v1/tokens", { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "pwned-no-cors" }) }); r.noCors = "sent"; } catch (e) { r.noCors = "blocked:" + e.name; }
  window.__results = r;
  document.title = "done";
})();`;

async function standInUpstream() {
  const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const aborted: string[] = [];
  const server = createServer((req, res) => {
    if (req.url?.endsWith("/slow")) {
      // Answers after 5 s, unless the proxy gives up on it first.
      const timer = setTimeout(() => res.end("late"), 5000);
      res.on("close", () => {
        clearTimeout(timer);
        if (!res.writableFinished) aborted.push(req.url ?? "");
      });
      return;
    }
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ url: req.url ?? "", headers: req.headers, body });
      res.setHeader("x-frame-options", "SAMEORIGIN");
      res.setHeader("content-security-policy", "frame-ancestors 'self'");
      if (req.url?.endsWith("/go")) {
        res.statusCode = 302;
        res.setHeader("location", `http://${req.headers.host}/elsewhere?a=1`);
        res.end();
        return;
      }
      if (req.url?.includes("/injected")) {
        // A gateway page with an attacker's script in it (what the gateway's CSP is there to stop; here
        // it has none): what can it reach of the dashboard from the instance's own origin?
        res.setHeader("content-type", "text/html; charset=utf-8");
        res.end(`<!doctype html><html><head><title>injected</title></head><body><script>${INJECTED_SCRIPT}</script></body></html>`);
        return;
      }
      if (req.url?.endsWith("/") || req.url?.endsWith("/index.html")) {
        // (the shape of the Control UI's own CSP)
        res.setHeader("content-security-policy", "default-src 'self'; script-src 'self'; frame-ancestors 'none'");
        res.setHeader("content-type", "text/html; charset=utf-8");
        res.end("<!doctype html><html><head><title>Control UI</title></head><body><div id=app></div></body></html>");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.setHeader("set-cookie", "gw=1; Path=/");
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    seen.push({ url: req.url ?? "", headers: req.headers, body: "" });
    ws.on("message", (d) => ws.send(`echo:${d}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    seen,
    aborted,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  };
}

/** A request to an instance's own origin, `<id>.localhost` on the server's port (Node does not resolve *.localhost itself). */
function onInstanceOrigin(
  serverUrl: string,
  instanceId: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> {
  const u = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: u.hostname, port: u.port, path, headers: { ...headers, host: `${instanceId}.localhost:${u.port}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on("error", reject);
    r.end();
  });
}

function wsOpen(url: string, headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve({ ws }));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    ws.once("error", reject);
  });
}

test("gateway proxy (stand-in upstream): auth, ownership, headers, token injection, cookie TTL, WebSocket", async (t) => {
  const up = await standInUpstream();
  // The gateway is reached through a tunnel, as from a real agent (both ends joined in this process).
  const tunnels = memoryTunnels(up.port);
  const h = await testApp("pglite", {}, { tunnels });
  t.after(async () => {
    await h.close();
    tunnels.close();
    await up.close();
  });
  const { app } = h;
  await signUp(app); // the admin
  const a = await signUp(app);
  const b = await signUp(app);
  const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: a.auth, payload: { name: "proxied" } })).json();
  await h.database.db
    .update(instances)
    .set({ addresses: { gateway: `http://127.0.0.1:${up.port}` }, gatewayTokenEnc: await sealJson(new LocalKek(TEST_KEY), GATEWAY_TOKEN) })
    .where(eq(instances.id, inst.id));
  const base = `/i/${inst.id}`;
  // The instance's own origin (inject's requests go to http://localhost:80 unless a host is given).
  const ihost = `${inst.id}.localhost`;
  const iorigin = `http://${ihost}`;
  const onInst = (headers: Record<string, string> = {}) => ({ host: ihost, ...headers });
  const cookiesOf = (r: { headers: Record<string, unknown> }) => ([] as string[]).concat((r.headers["set-cookie"] as string | string[]) ?? []);

  // No credentials: 401. User B, and an instance that does not exist: the same 404.
  assert.equal((await app.inject({ url: `${base}/echo` })).statusCode, 401);
  const other = await app.inject({ url: `${base}/echo`, headers: b.auth });
  const missing = await app.inject({ url: `/i/${crypto.randomUUID()}/echo`, headers: b.auth });
  assert.equal(other.statusCode, 404);
  assert.equal(missing.statusCode, 404);
  assert.equal(other.body, missing.body, "B learns nothing about A's instance");
  assert.equal(up.seen.length, 0, "nothing reached the gateway");

  // A with an API token on the dashboard's origin (an API client): forwarded; Tropic's credentials
  // never reach the gateway.
  const res = await app.inject({ method: "POST", url: `${base}/echo?x=1`, headers: { ...a.auth, cookie: `${a.cookie}; gw=1` }, payload: { hi: 1 } });
  assert.equal(res.statusCode, 200);
  // The gateway serves its Control UI under the same base path: the path goes through unchanged.
  assert.deepEqual(res.json(), { method: "POST", url: `${base}/echo?x=1`, body: '{"hi":1}' });
  const fwd = up.seen.at(-1)!;
  assert.equal(fwd.headers.authorization, undefined);
  assert.equal(fwd.headers.cookie, "gw=1");
  // …but nothing the gateway answers is ever a page of the dashboard's origin: framing refused,
  // script sandboxed, the gateway's cookies not set on the dashboard's origin, no proxy cookie.
  assert.equal(res.headers["x-frame-options"], "DENY");
  assert.match(String(res.headers["content-security-policy"]), /^sandbox; default-src 'none'; frame-ancestors 'none'$/);
  assert.equal(res.headers["x-content-type-options"], "nosniff");
  assert.deepEqual(cookiesOf(res), []);
  const api = await app.inject({ url: "/api/v1/instances", headers: a.auth });
  assert.equal(api.headers["x-frame-options"], "DENY");
  assert.match(String(api.headers["content-security-policy"]), /frame-ancestors 'none'/);
  assert.match(
    String(api.headers["content-security-policy"]),
    /frame-src 'self' http:\/\/\*\.localhost;/,
    "the dashboard frames the instance origins",
  );
  const denied = await app.inject({ url: `${base}/echo`, headers: b.auth });
  assert.equal(denied.headers["x-frame-options"], "DENY", "a refused proxy request is not a proxied response");
  // An API token's page load on the dashboard's origin gets no token injected (it is no browser's).
  const apiPage = await app.inject({ url: `${base}/`, headers: { ...a.auth, accept: "text/html" } });
  assert.equal(apiPage.statusCode, 200);
  assert.ok(!apiPage.body.includes(GATEWAY_TOKEN));

  // The dashboard's cookie on the dashboard's origin: a browser opening the page gets the hand-off
  // (Tropic's page, no gateway bytes), anything else is refused.
  const seenBeforeHandoff = up.seen.length;
  const nav = await app.inject({ url: `${base}/chat?x=1`, headers: { cookie: a.cookie, accept: "text/html" } });
  assert.equal(nav.statusCode, 200, nav.body);
  assert.match(String(nav.headers["content-type"]), /text\/html/);
  assert.ok(nav.body.includes(`action="${iorigin}/_tropic/handoff"`), nav.body);
  assert.ok(nav.body.includes(`name="next" value="${base}/chat?x=1"`));
  assert.ok(!nav.body.includes(GATEWAY_TOKEN));
  assert.equal(nav.headers["cache-control"], "no-store");
  assert.equal(nav.headers["x-frame-options"], "SAMEORIGIN");
  assert.equal(nav.headers["referrer-policy"], "strict-origin", "the form's POST carries the dashboard's Origin");
  assert.match(String(nav.headers["content-security-policy"]), new RegExp(`form-action ${iorigin}; frame-ancestors 'self'`));
  assert.equal(up.seen.length, seenBeforeHandoff, "nothing of the gateway on the dashboard's origin");
  const xhr = await app.inject({ url: `${base}/echo`, headers: { cookie: a.cookie } });
  assert.equal(xhr.statusCode, 403);
  assert.ok(xhr.json().error.message.includes(`${iorigin}${base}/`), xhr.body);
  const ticketOf = (html: string) => /name="ticket" value="([^"]+)"/.exec(html)![1]!;
  const form = (ticket: string, next: string) => `ticket=${encodeURIComponent(ticket)}&next=${encodeURIComponent(next)}`;
  const handoff = (ticket: string, next: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: "POST",
      url: "/_tropic/handoff",
      headers: onInst({ origin: "http://localhost", "content-type": "application/x-www-form-urlencoded", ...headers }),
      payload: form(ticket, next),
    });

  // The hand-off: posted by the dashboard's page, once, to this instance's origin only.
  const ticket = ticketOf(nav.body);
  assert.equal((await handoff(ticket, `${base}/`, { origin: "https://evil.example" })).statusCode, 403, "posted from another site");
  assert.equal(
    (
      await app.inject({
        method: "POST",
        url: "/_tropic/handoff",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: form(ticket, "/"),
      })
    ).statusCode,
    404,
    "not on the dashboard's origin",
  );
  const done = await handoff(ticket, `${base}/chat?x=1`);
  assert.equal(done.statusCode, 303, done.body);
  assert.equal(done.headers.location, `${base}/chat?x=1`);
  const pc = cookiesOf(done).find((c) => c.startsWith("tropic_proxy="))!;
  assert.equal(pc.split("; ").slice(1).join("; "), "Path=/; Max-Age=600; HttpOnly; SameSite=None; Secure; Partitioned");
  assert.ok(!pc.includes(GATEWAY_TOKEN));
  const proxyCookie = pc.split(";")[0]!;
  assert.equal((await handoff(ticket, `${base}/`)).statusCode, 401, "a ticket works once");
  // A ticket never leads off the instance's own paths, nor works for another instance or after 60 s.
  const next2 = await app.inject({ url: `${base}/`, headers: { cookie: a.cookie, accept: "text/html" } });
  assert.equal((await handoff(ticketOf(next2.body), "https://evil.example/")).headers.location, `${base}/`);
  const tickets = new ProxyTickets(h.database.db);
  const sessionOf = async (userId: string) =>
    (await h.database.pool.query("SELECT id FROM sessions WHERE owner_id = $1 ORDER BY created_at DESC LIMIT 1", [userId])).rows[0].id as string;
  const sa = await sessionOf(a.id);
  const sb = await sessionOf(b.id);
  assert.equal((await handoff(await tickets.issue(a.id, crypto.randomUUID(), sa), `${base}/`)).statusCode, 401, "another instance's ticket");
  const stale = await new ProxyTickets(h.database.db, () => Date.now() - 61_000).issue(a.id, inst.id, sa);
  assert.equal((await handoff(stale, `${base}/`)).statusCode, 401, "an expired ticket");
  assert.equal((await handoff("tph_forged", `${base}/`)).statusCode, 401);
  assert.ok(!h.logs.join("\n").includes(ticket), "the ticket is in no log line");

  // On the instance's own origin: the Control UI page with the token injected (as the #token fragment
  // the UI reads), never cached; the gateway's CSP kept, only frame-ancestors set to the dashboard's
  // origins and the injected script allowed by its hash; X-Frame-Options gone; the cookie renewed.
  const page = await app.inject({ url: `${base}/`, headers: onInst({ cookie: proxyCookie, accept: "text/html" }) });
  assert.equal(page.statusCode, 200, page.body);
  assert.ok(page.body.includes(GATEWAY_TOKEN), "token injected into the page");
  assert.match(page.body, /^<!doctype html><html><head><script>/);
  assert.equal(page.headers["cache-control"], "no-store");
  assert.equal(page.headers["x-frame-options"], undefined);
  const script = /<script>(.*?)<\/script>/.exec(page.body)![1]!;
  assert.equal(
    page.headers["content-security-policy"],
    `default-src 'self'; script-src 'self' '${scriptHash(script)}'; frame-ancestors http://localhost http://127.0.0.1`,
  );
  assert.ok(
    cookiesOf(page).some((c) => c.startsWith("tropic_proxy=")),
    "renewed on activity",
  );
  const viaCookie = await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: `${proxyCookie}; gw=1` }) });
  assert.equal(viaCookie.statusCode, 200);
  assert.equal(up.seen.at(-1)!.headers.cookie, "gw=1", "the proxy cookie never reaches the gateway");
  assert.ok(cookiesOf(viaCookie).includes("gw=1; Path=/"), "the gateway's own cookies, on its own origin");
  assert.equal(viaCookie.headers["content-security-policy"], "frame-ancestors http://localhost http://127.0.0.1");

  // The instance origin serves its gateway and nothing else.
  assert.equal((await app.inject({ url: "/api/v1/me", headers: onInst(a.auth) })).statusCode, 404);
  assert.equal((await app.inject({ url: "/", headers: onInst({ cookie: proxyCookie }) })).headers.location, `${base}/`);
  assert.equal((await app.inject({ url: `/i/${crypto.randomUUID()}/echo`, headers: onInst({ cookie: proxyCookie }) })).statusCode, 404);
  assert.equal((await app.inject({ url: "/signin", headers: onInst() })).statusCode, 404);
  // The dashboard's own cookie is not the instance origin's (a browser would not send it; if sent, it is ignored).
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: a.cookie }) })).statusCode, 401);
  // Signed out of the instance origin, a browser goes back through the dashboard.
  const back = await app.inject({ url: `${base}/chat`, headers: onInst({ accept: "text/html" }) });
  assert.equal(back.statusCode, 302);
  assert.equal(back.headers.location, `http://localhost${base}/chat`);

  const bare = await app.inject({ url: `${base}?x=1`, headers: onInst({ cookie: proxyCookie }) });
  assert.equal(bare.statusCode, 308);
  assert.equal(bare.headers.location, `${base}/?x=1`);
  assert.equal((await app.inject({ url: base, headers: b.auth })).statusCode, 404);

  // Forged, expired, or another instance's session cookie: 401.
  const key = new LocalKek(TEST_KEY).derive("gateway-proxy-session");
  const forged = `${proxyCookie.slice(0, -3)}AAA`;
  const expired = `tropic_proxy=${new ProxySessions(key, () => Date.now() - 10 * 60_000 - 1000).issue(a.id, inst.id, sa)}`;
  const almost = `tropic_proxy=${new ProxySessions(key, () => Date.now() - 9 * 60_000).issue(a.id, inst.id, sa)}`;
  const elsewhere = `tropic_proxy=${new ProxySessions(key).issue(a.id, crypto.randomUUID(), sa)}`;
  const otherKey = `tropic_proxy=${new ProxySessions(Buffer.alloc(32, 1)).issue(a.id, inst.id, sa)}`;
  for (const c of [forged, expired, elsewhere, otherKey])
    assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: c }) })).statusCode, 401, c);
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: almost }) })).statusCode, 200, "within the TTL");
  // B with a proxy cookie for A's instance (which only the key could mint): not B's instance.
  const bForA = `tropic_proxy=${new ProxySessions(key).issue(b.id, inst.id, sb)}`;
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: bForA }) })).statusCode, 404);

  // WebSocket: same auth, round trip through the real server.
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}${base}/ws?session=main`;
  const wsHost = { host: `${ihost}:${port}` };
  assert.equal((await wsOpen(url, {})).status, 401);
  const bWs = await wsOpen(url, b.auth);
  assert.equal(bWs.status, 404);
  assert.equal(bWs.body, missing.body);
  assert.equal((await wsOpen(url, { ...wsHost, cookie: expired })).status, 401);
  // A browser's WebSocket with the dashboard's cookie on the dashboard's origin: refused.
  assert.equal((await wsOpen(url, { cookie: a.cookie })).status, 403);
  for (const headers of [a.auth, { ...wsHost, cookie: proxyCookie }, { ...wsHost, ...a.auth }]) {
    const { ws } = await wsOpen(url, headers);
    assert.ok(ws, `upgraded (${Object.keys(headers).join(", ")})`);
    const reply = new Promise<string>((r) => ws.once("message", (d) => r(String(d))));
    ws.send("stop");
    assert.equal(await reply, "echo:stop", "messages pass unfiltered");
    ws.close();
  }
  assert.equal(
    (await wsOpen(`ws://127.0.0.1:${port}/i/${crypto.randomUUID()}/`, { ...wsHost, cookie: proxyCookie })).status,
    404,
    "another instance's path",
  );
  // A browser that gives up mid-request: the upstream request is dropped too (no socket left behind).
  await new Promise<void>((resolve) => {
    const r = httpRequest({ host: "127.0.0.1", port, path: `${base}/slow`, headers: a.auth });
    r.on("error", () => resolve());
    r.end();
    setTimeout(() => {
      r.destroy();
      resolve();
    }, 300);
  });
  for (let i = 0; i < 40 && !up.aborted.length; i++) await sleep(50);
  assert.deepEqual(up.aborted, [`${base}/slow`], "the upstream request was abandoned with the client's");

  const wsSeen = up.seen.at(-1)!;
  assert.equal(wsSeen.headers.authorization, undefined);
  assert.equal(wsSeen.headers.cookie, undefined);

  // The gateway's root endpoints (OpenAI-compatible API, health) are reached under the prefix too.
  const v1 = await app.inject({ method: "POST", url: `${base}/v1/chat/completions`, headers: a.auth, payload: {} });
  assert.equal(v1.json().url, "/v1/chat/completions");
  assert.equal((await app.inject({ url: `${base}/readyz`, headers: a.auth })).json().url, "/readyz");
  // Redirects stay under the prefix: the upstream's own origin is dropped.
  const go = await app.inject({ url: `${base}/go`, headers: onInst({ cookie: proxyCookie }) });
  assert.equal(go.statusCode, 302);
  assert.equal(go.headers.location, `${base}/elsewhere?a=1`);

  // Cross-site pages cannot drive the gateway with the user's cookies: on the instance origin, only
  // its own Origin is accepted (HTTP and WebSocket) and shown to the gateway as its own.
  assert.equal((await app.inject({ url: `${base}/echo`, headers: { ...a.auth, origin: "https://evil.example" } })).statusCode, 403);
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: proxyCookie, origin: "https://evil.example" }) })).statusCode, 403);
  for (const origin of ["https://evil.example", `http://127.0.0.1:${port}`, `http://${crypto.randomUUID()}.localhost:${port}`])
    assert.equal((await wsOpen(url, { ...wsHost, cookie: proxyCookie, origin })).status, 403, origin);
  const own = await wsOpen(url, { ...wsHost, cookie: proxyCookie, origin: `http://${ihost}:${port}` });
  assert.ok(own.ws, "same-origin browser upgrade");
  own.ws.close();
  assert.equal(up.seen.at(-1)!.headers.origin, `http://127.0.0.1:${up.port}`);

  // Signing out ends proxy access at once (the finding: the proxy cookie kept working and renewing).
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: proxyCookie }) })).statusCode, 200);
  assert.equal((await app.inject({ method: "POST", url: "/api/v1/auth/signout", headers: { cookie: a.cookie } })).statusCode, 204);
  const afterSignout = await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: proxyCookie }) });
  assert.equal(afterSignout.statusCode, 401);
  assert.ok(!String(afterSignout.headers["set-cookie"] ?? "").includes("tropic_proxy="), "not renewed");
  assert.equal((await wsOpen(url, { ...wsHost, cookie: proxyCookie })).status, 401, "nor a WebSocket");
  // A proxy cookie bound to a session that has expired, or to another user's session, is refused too.
  await h.database.pool.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [sb]);
  await sleep(1100); // a live session is believed for a second (sign-out here forgets it at once)
  const bCookie = `tropic_proxy=${new ProxySessions(key).issue(b.id, inst.id, sb)}`;
  assert.equal((await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: bCookie }) })).statusCode, 401);
  assert.equal(
    (await app.inject({ url: `${base}/echo`, headers: onInst({ cookie: `tropic_proxy=${new ProxySessions(key).issue(a.id, inst.id, sb)}` }) }))
      .statusCode,
    401,
  );

  // The gateway token never reaches a log line.
  const logs = h.logs.join("\n");
  assert.ok(logs.length > 0);
  assert.ok(!logs.includes(GATEWAY_TOKEN), "token absent from logs");
});

test("in Chromium: a script injected into a proxied page runs on the instance's own origin and cannot read the dashboard's cookies or call its API", {
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`,
}, async (t) => {
  const up = await standInUpstream();
  const tunnels = memoryTunnels(up.port);
  const h = await testApp("pglite", {}, { tunnels });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.after(async () => {
    await browser.close();
    await h.close();
    tunnels.close();
    await up.close();
  });
  const { app } = h;
  await signUp(app);
  const a = await signUp(app);
  const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: a.auth, payload: { name: "injected" } })).json();
  await h.database.db
    .update(instances)
    .set({ addresses: { gateway: `http://127.0.0.1:${up.port}` }, gatewayTokenEnc: await sealJson(new LocalKek(TEST_KEY), GATEWAY_TOKEN) })
    .where(eq(instances.id, inst.id));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const dash = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const [name, value] = a.cookie.split("=") as [string, string];
  const ctx = await browser.newContext();
  await ctx.addCookies([{ name, value, url: dash }]);
  const page = await ctx.newPage();
  // The dashboard's Chat page frames /i/<id>/…: the hand-off takes the frame to the instance's origin.
  await page.route(`${dash}/frame-test`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><title>chat</title><iframe src="/i/${inst.id}/injected?dash=${encodeURIComponent(dash)}"></iframe>`,
    }),
  );
  const seen: string[] = [];
  page.on("response", (res) => seen.push(`${res.request().method()} ${res.url()} ${res.status()}`));
  page.on("console", (m) => seen.push(`console: ${m.text()}`));
  await page.goto(`${dash}/frame-test`);
  let frame = page.frames().find((f) => f.url().includes("/injected"));
  for (let i = 0; i < 100 && !(frame && (await frame.title().catch(() => "")) === "done"); i++) {
    await sleep(100);
    frame = page.frames().find((f) => f.url().includes("/injected"));
  }
  assert.ok(
    frame,
    `the framed page loaded: ${seen.join(" | ")} | frames: ${page
      .frames()
      .map((f) => f.url())
      .join(", ")}`,
  );
  const r = (await frame.evaluate("window.__results")) as Record<string, string>;
  t.diagnostic(JSON.stringify(r));
  const port = new URL(dash).port;
  assert.equal(r.origin, `http://${inst.id}.localhost:${port}`, "the page runs on the instance's own origin");
  assert.equal(r.cookie, "", "no cookie of the dashboard's, and the proxy cookie is HttpOnly");
  assert.match(r.parentCookie!, /^blocked:SecurityError$/, "the dashboard's document is another origin's");
  assert.match(r.me!, /^blocked:TypeError$/, "the dashboard's API cannot be read (no CORS)");
  assert.match(r.token!, /^blocked:TypeError$/);
  const tokens = await h.database.pool.query("SELECT name FROM api_tokens WHERE owner_id = $1 AND name LIKE 'pwned%'", [a.id]);
  assert.deepEqual(tokens.rows, [], "no API token was created by the page (the no-cors POST went out without the dashboard's cookie)");
  // The session cookie never reached the instance's origin; the gateway saw none of Tropic's cookies.
  assert.ok(up.seen.every((s) => !String(s.headers.cookie ?? "").includes("tropic_")));
});

test("gateway proxy: path mapping, redirects and upstream selection (unit)", () => {
  const id = "0b9a1c2e-0000-4000-8000-000000000001";
  assert.equal(upstreamPath(id, "/chat/main", "?x=1"), `/i/${id}/chat/main?x=1`);
  assert.equal(upstreamPath(id, undefined, undefined), `/i/${id}/`);
  assert.equal(upstreamPath(id, "/v1/chat/completions", ""), "/v1/chat/completions");
  assert.equal(upstreamPath(id, "/tools/invoke", ""), "/tools/invoke");
  assert.equal(upstreamPath(id, "/readyz", ""), "/readyz");
  assert.equal(upstreamPath(id, "/readyzz", ""), `/i/${id}/readyzz`);
  const up = { host: "127.0.0.1", port: 4000, headers: {} };
  assert.equal(rewriteLocation("http://127.0.0.1:4000/i/x", up, id), `/i/${id}/i/x`);
  assert.equal(rewriteLocation(`http://127.0.0.1:4000/i/${id}/`, up, id), `/i/${id}/`);
  assert.equal(rewriteLocation(`/i/${id}`, up, id), `/i/${id}`);
  assert.equal(rewriteLocation("/login?next=%2F", up, id), `/i/${id}/login?next=%2F`);
  assert.equal(rewriteLocation("chat/main", up, id), "chat/main");
  assert.equal(rewriteLocation("https://accounts.example.com/oauth", up, id), "https://accounts.example.com/oauth");
  assert.equal(rewriteLocation("//evil.example/x", up, id), "//evil.example/x");
  const opts = { referer: "https://tropic.example.com/" };
  const tunnel = () => new PassThrough();
  assert.deepEqual(selectUpstream({ provider: "local", addresses: { gateway: "http://127.0.0.1:41000" } }, { ...opts, tunnel }), {
    host: "127.0.0.1",
    port: 41000,
    headers: {},
    connect: tunnel,
  });
  // A local gateway is reached through its agent's tunnel or not at all.
  assert.equal(selectUpstream({ provider: "local", addresses: { gateway: "http://127.0.0.1:41000" } }, opts), null);
  for (const gateway of ["http://10.0.0.5:41000", "http://127.0.0.1", "https://127.0.0.1:4", "nonsense", 5])
    assert.equal(selectUpstream({ provider: "local", addresses: { gateway } }, opts), null, String(gateway));
  assert.deepEqual(selectUpstream({ provider: "aws", addresses: { private: "http://10.100.3.7" } }, opts), {
    host: "10.100.3.7",
    port: 80,
    headers: { referer: "https://tropic.example.com/" },
  });
  for (const priv of ["http://54.12.1.9", "http://vm.example.com", "http://[::1]:80", undefined])
    assert.equal(selectUpstream({ provider: "aws", addresses: { private: priv } }, opts), null, String(priv));
  assert.ok(["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.1"].every(isPrivateAddress));
  assert.ok(!["172.32.0.1", "8.8.8.8", "169.254.169.254", "::1"].some(isPrivateAddress));
});

test("gateway proxy, cloud path (MOCK VM: real nginx with the VM's site in front of the stand-in gateway): Referer, WebSocket, direct requests refused", {
  skip: NGINX_BIN ? false : "nginx is not installed",
}, async (t) => {
  const publicUrl = "https://tropic.example.com";
  const h = await testApp("pglite", { publicUrl });
  const up = await standInUpstream();
  const nginxPort = await freePort();
  const site = renderNginxSite({ listen: `127.0.0.1:${nginxPort}`, gatewayPort: up.port, refererUrl: publicUrl });
  const nginx = await startNginx(site, nginxPort);
  t.after(async () => {
    await h.close();
    await up.close();
    await nginx.stop();
  });
  const { app } = h;
  await signUp(app);
  const a = await signUp(app);
  const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: a.auth, payload: { name: "cloud" } })).json();
  await h.database.db
    .update(instances)
    .set({
      provider: "aws",
      addresses: { private: `http://127.0.0.1:${nginxPort}` },
      gatewayTokenEnc: await sealJson(new LocalKek(TEST_KEY), GATEWAY_TOKEN),
    })
    .where(eq(instances.id, inst.id));
  const base = `/i/${inst.id}`;

  // Knowing the VM's address is not enough: nginx refuses a request without Tropic's Referer, and a
  // look-alike one; its health path answers without one (the 15 s health check).
  const vm = `http://127.0.0.1:${nginxPort}`;
  assert.equal((await fetch(`${vm}${base}/`)).status, 403);
  assert.equal((await fetch(`${vm}${base}/`, { headers: { referer: "https://tropic.example.com.evil.io/" } })).status, 403);
  assert.equal((await fetch(`${vm}${base}/`, { headers: { referer: "http://tropic.example.com/" } })).status, 403);
  assert.equal((await fetch(`${vm}/healthz`)).status, 200);
  assert.equal(up.seen.at(-1)!.url, "/readyz");
  const seenBefore = up.seen.length;

  // Through Tropic's proxy: the Referer is added, the request reaches the gateway.
  const res = await app.inject({ url: `${base}/echo?q=1`, headers: a.auth });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().url, `${base}/echo?q=1`);
  assert.equal(up.seen.length, seenBefore + 1);
  assert.equal(up.seen.at(-1)!.headers.referer, `${publicUrl}/`);
  // The Control UI on the instance's own origin under the configured public URL's domain.
  const page = await app.inject({ url: `${base}/`, headers: { ...a.auth, accept: "text/html", host: `${inst.id}.i.tropic.example.com` } });
  assert.ok(page.body.includes(GATEWAY_TOKEN));
  assert.equal(page.headers["x-frame-options"], undefined);
  assert.match(String(page.headers["content-security-policy"]), /frame-ancestors https:\/\/tropic\.example\.com$/);
  const handoffPage = await app.inject({ url: `${base}/`, headers: { cookie: a.cookie, accept: "text/html" } });
  assert.ok(handoffPage.body.includes(`action="https://${inst.id}.i.tropic.example.com/_tropic/handoff"`), handoffPage.body);

  // WebSocket through both proxies.
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const { ws } = await wsOpen(`ws://127.0.0.1:${port}${base}/`, { ...a.auth, origin: publicUrl });
  assert.ok(ws, "upgraded through Tropic and nginx");
  const reply = new Promise<string>((r) => ws.once("message", (d) => r(String(d))));
  ws.send("stop");
  assert.equal(await reply, "echo:stop");
  ws.close();
  assert.equal(up.seen.at(-1)!.headers.referer, `${publicUrl}/`);
  assert.equal(
    (await wsOpen(`ws://127.0.0.1:${port}${base}/`, { ...a.auth, origin: `http://127.0.0.1:${port}` })).status,
    403,
    "not the public origin",
  );
  assert.equal(nginx.errors().includes("[emerg]"), false);
});

test("gateway proxy against a real gateway (scripted model): Control UI in a real browser and an iframe, WebSocket chat, a stop word interrupts a long run, B gets 404", {
  timeout: 600_000,
}, async (t) => {
  const model = new ScriptedModel();
  await model.start();
  model.stall("longrun");
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  t.after(async () => {
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
    await model.stop();
  });
  const root = new Api(server.url);
  const aEmail = `pa-${Date.now()}@example.com`;
  const a = await root.as(aEmail);
  const b = await root.as(`pb-${Date.now()}@example.com`);
  const set = await a.call("PATCH", "/api/v1/settings", {
    model: "custom",
    // (the model is on "the internet": the sandbox reaches nothing on this machine)
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const inst = (await a.call("POST", "/api/v1/instances", { name: "proxied-real" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "instance running");
  const token = instanceFiles(dataDir, inst.id).config().gateway.auth.token as string;
  assert.match(token, /^[0-9a-f]{48}$/);
  const base = `/i/${inst.id}`;

  await t.test(
    "the Control UI page comes through on the instance's own origin with the token injected and the gateway's CSP kept; B gets 404 (HTTP and WebSocket)",
    async () => {
      const page = await onInstanceOrigin(server.url, inst.id, `${base}/`, { ...a.auth, accept: "text/html" });
      const html = page.body;
      assert.equal(page.status, 200, html.slice(0, 300));
      assert.match(String(page.headers["content-type"]), /text\/html/);
      assert.ok(html.includes(token), "token injected into the Control UI page");
      assert.ok(html.includes(`data-openclaw-control-ui-base-path="${base}"`), "the gateway serves its UI under the proxy's path");
      assert.equal(page.headers["x-frame-options"], undefined);
      // OpenClaw's own policy, but for who may frame it and the hash of the token script.
      const csp = String(page.headers["content-security-policy"]);
      const script = /<script>(.*?)<\/script>/.exec(html)![1]!;
      assert.match(csp, /^default-src 'self'; base-uri 'none'; object-src 'none'; frame-src 'self' http: https:; script-src 'self' /);
      assert.ok(csp.includes(`'${scriptHash(script)}'`), csp);
      const port = new URL(server.url).port;
      assert.ok(csp.endsWith(`; frame-ancestors http://localhost:${port} http://127.0.0.1:${port}`), csp);
      assert.ok(!csp.includes("frame-ancestors 'none'"));
      assert.equal((await fetch(`${server.url}${base}/`, { headers: { ...b.auth, accept: "text/html" } })).status, 404);
      assert.equal((await wsOpen(`${server.url.replace(/^http/, "ws")}${base}/`, b.auth)).status, 404);
      const ready = await fetch(`${server.url}${base}/readyz`, { headers: a.auth });
      assert.equal(ready.status, 200, "the gateway's root endpoints are reached under the prefix");
      assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    },
  );

  await t.test(
    "in Chromium: signed in, the Control UI loads inside an iframe, keeps the /i/<id>/ prefix and connects its WebSocket through the proxy",
    {
      skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`,
    },
    async () => {
      const session = (
        await fetch(`${server.url}/api/v1/auth/signin`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: aEmail, password: "correct horse battery" }),
        })
      ).headers.get("set-cookie")!;
      const [name, value] = session.split(";")[0]!.split("=") as [string, string];
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const ctx = await browser.newContext();
        await ctx.addCookies([{ name, value, url: server.url }]);
        const page = await ctx.newPage();
        const requests: string[] = [];
        page.on("request", (r) => requests.push(r.url()));
        const seen: string[] = [];
        page.on("response", (res) => seen.push(`${res.request().method()} ${res.url()} ${res.status()}`));
        page.on("console", (m) => seen.push(`console: ${m.text()}`));
        const sockets: { url: string; hello: Promise<boolean> }[] = [];
        page.on("websocket", (ws) => {
          sockets.push({
            url: ws.url(),
            hello: new Promise((resolve) => {
              ws.on("framereceived", (f) => String(f.payload).includes('"hello-ok"') && resolve(true));
              ws.on("close", () => resolve(false));
            }),
          });
        });
        // A page of Tropic's own origin that frames the instance, as the dashboard's Chat page does.
        await page.route(`${server.url}/frame-test`, (route) =>
          route.fulfill({
            contentType: "text/html",
            body: `<!doctype html><title>chat</title><iframe id=chat src="${base}/" style="width:1200px;height:800px"></iframe>`,
          }),
        );
        await page.setViewportSize({ width: 1240, height: 840 });
        await page.goto(`${server.url}/frame-test`);
        const deadline = Date.now() + 60_000;
        while (!sockets.length && Date.now() < deadline) await sleep(200);
        assert.ok(sockets.length, `the Control UI opened a WebSocket: ${seen.slice(0, 30).join(" | ")}`);
        assert.equal(new URL(sockets[0]!.url).pathname.replace(/\/$/, ""), base, "through the proxy, under the prefix");
        const instanceHost = `${inst.id}.localhost:${new URL(server.url).port}`;
        assert.equal(new URL(sockets[0]!.url).host, instanceHost, "on the instance's own origin");
        assert.equal(await Promise.race([sockets[0]!.hello, sleep(60_000).then(() => false)]), true, "connect → hello-ok with the injected token");
        const frame = page.frames().find((f) => f.url().includes(base))!;
        assert.ok(frame, "the framed UI");
        assert.equal(new URL(frame.url()).host, instanceHost, "the frame shows the instance's origin");
        assert.ok(!frame.url().includes(token), "the UI removed the token from its address");
        assert.ok(!requests.some((u) => u.includes(token)), "the token is in no request URL");
        // The dashboard's origin served the frame-test page and the hand-off (no gateway bytes); the
        // instance's origin the hand-off's answer and the UI, every request under the prefix.
        assert.deepEqual(
          requests.filter((u) => u.startsWith(server.url)).map((u) => new URL(u).pathname),
          ["/frame-test", `${base}/`],
        );
        assert.ok(
          requests
            .filter((u) => new URL(u).host === instanceHost)
            .every((u) => new URL(u).pathname.startsWith(`${base}/`) || new URL(u).pathname === "/_tropic/handoff"),
          "every UI request kept the prefix",
        );
        await sleep(1500);
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, "proxy-control-ui-iframe.png") });
      } finally {
        await browser.close();
      }
    },
  );

  await t.test("over the proxied WebSocket: a chat message round trip, then `stop` interrupts a long run", async () => {
    const dep = await a.call("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant", model: "scripted/scripted" });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state === "ready", 60_000, "agent ready");
    const sessionKey = `agent:${dep.json.slug}:main`;
    // The deploy changed the gateway's config: it may reload or restart. Connect once it answers.
    let client: ProxiedGatewayClient | undefined;
    for (let attempt = 1; !client; attempt++) {
      await a.until(`/i/${inst.id}/readyz`, (j) => j?.ready === true, 90_000, "the gateway ready");
      const c = new ProxiedGatewayClient(`${server.url.replace(/^http/, "ws")}${base}/`, a.auth, token);
      try {
        await c.connect();
        client = c;
      } catch (e) {
        c.close();
        // What the gateway was doing (restart/reload lines only), for whoever reads a failure.
        const log = readFileSync(join(instanceFiles(dataDir, inst.id).dir, "gateway.log"), "utf8");
        t.diagnostic(
          `connect attempt ${attempt}: ${(e as Error).message}; gateway: ${log
            .split("\n")
            .filter((l) => /restart|reload|closing|shutdown/i.test(l))
            .slice(-5)
            .join(" | ")}`,
        );
        if (attempt >= 12) throw e;
        await sleep(5000);
      }
    }
    try {
      // A round trip: chat.send → the scripted model → the final chat event.
      const hello = await client.call("chat.send", { sessionKey, message: "SCENARIO:hello please answer.", idempotencyKey: crypto.randomUUID() });
      const done = await client.waitFor((f) => f.event === "chat" && f.payload?.runId === hello.runId && f.payload?.state === "final", 60_000);
      assert.match(JSON.stringify(done.payload), /Scenario hello complete/);

      // A long run: the model streams and never finishes; `stop`, sent as a chat message, ends it.
      const long = await client.call("chat.send", { sessionKey, message: "SCENARIO:longrun keep going.", idempotencyKey: crypto.randomUUID() });
      await client.waitFor((f) => f.event === "chat" && f.payload?.runId === long.runId && f.payload?.state === "delta", 60_000);
      await sleep(2000);
      const rec = model.of("longrun")[0]!;
      assert.ok(rec && !rec.abandonedAt, "the run is busy streaming");
      const t0 = performance.now();
      await client.call("chat.send", { sessionKey, message: "stop", idempotencyKey: crypto.randomUUID() });
      const ended = await client.waitFor(
        (f) => f.event === "chat" && f.payload?.runId === long.runId && ["aborted", "final", "error"].includes(f.payload?.state),
        30_000,
      );
      assert.equal(ended.payload.state, "aborted", JSON.stringify(ended.payload).slice(0, 300));
      const t1 = performance.now();
      while (!rec.abandonedAt && performance.now() - t1 < 10_000) await sleep(100);
      assert.ok(rec.abandonedAt > 0, "the model stream was cut off");
      t.diagnostic(`stop → aborted in ${Math.round(performance.now() - t0)} ms`);
    } finally {
      client.close();
    }
  });
});
