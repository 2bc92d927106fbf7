// The gateway proxy (/i/<id>/…) against a stand-in upstream: a tiny HTTP + WebSocket echo server
// on 127.0.0.1 in place of an OpenClaw gateway.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { eq } from "drizzle-orm";
import { WebSocket, WebSocketServer } from "ws";
import { instances } from "../src/db/schema.ts";
import { sealJson } from "../src/instances/tokens.ts";
import { ProxySessions } from "../src/proxy/session.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { signUp, TEST_KEY, testApp } from "./harness.ts";
import { Api, destroyAll, freshDataDir, inProcessServer, instanceFiles, removeDir, sleep } from "./instances-harness.ts";

const GATEWAY_TOKEN = "ab12".repeat(12); // 48 hex characters

async function standInUpstream() {
  const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ url: req.url ?? "", headers: req.headers, body });
      res.setHeader("x-frame-options", "SAMEORIGIN");
      res.setHeader("content-security-policy", "frame-ancestors 'self'");
      if (req.url === "/" || req.url === "/index.html") {
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
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  };
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
  const h = await testApp("pglite");
  const up = await standInUpstream();
  t.after(async () => {
    await h.close();
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

  // No credentials: 401. User B, and an instance that does not exist: the same 404.
  assert.equal((await app.inject({ url: `${base}/echo` })).statusCode, 401);
  const other = await app.inject({ url: `${base}/echo`, headers: b.auth });
  const missing = await app.inject({ url: `/i/${crypto.randomUUID()}/echo`, headers: b.auth });
  assert.equal(other.statusCode, 404);
  assert.equal(missing.statusCode, 404);
  assert.equal(other.body, missing.body, "B learns nothing about A's instance");
  assert.equal(up.seen.length, 0, "nothing reached the gateway");

  // A with an API token: forwarded; Tropic's credentials never reach the gateway.
  const res = await app.inject({ method: "POST", url: `${base}/echo?x=1`, headers: { ...a.auth, cookie: `${a.cookie}; gw=1` }, payload: { hi: 1 } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { method: "POST", url: "/echo?x=1", body: '{"hi":1}' });
  const fwd = up.seen.at(-1)!;
  assert.equal(fwd.headers.authorization, undefined);
  assert.equal(fwd.headers.cookie, "gw=1");
  // Framing headers are gone on the proxied response only; the other defaults stay.
  assert.equal(res.headers["x-frame-options"], undefined);
  assert.equal(res.headers["content-security-policy"], undefined);
  assert.equal(res.headers["x-content-type-options"], "nosniff");
  const api = await app.inject({ url: "/api/v1/instances", headers: a.auth });
  assert.equal(api.headers["x-frame-options"], "DENY");
  assert.match(String(api.headers["content-security-policy"]), /frame-ancestors 'none'/);
  const denied = await app.inject({ url: `${base}/echo`, headers: b.auth });
  assert.equal(denied.headers["x-frame-options"], "DENY", "a refused proxy request is not a proxied response");

  // The proxy session cookie: HttpOnly, SameSite=Lax, Path=/i/<id>/, 10 minutes; the gateway's cookies pass through.
  const cookies = ([] as string[]).concat(res.headers["set-cookie"] as string | string[]);
  assert.ok(cookies.includes("gw=1; Path=/"));
  const pc = cookies.find((c) => c.startsWith("tropic_proxy="))!;
  assert.match(pc, new RegExp(`Path=/i/${inst.id}/`));
  assert.match(pc, /Max-Age=600/);
  assert.match(pc, /HttpOnly/);
  assert.match(pc, /SameSite=Lax/);
  assert.ok(!pc.includes(GATEWAY_TOKEN));
  const proxyCookie = pc.split(";")[0]!;

  // The Control UI page: the token is injected (as the #token fragment the UI reads), never cached.
  const page = await app.inject({ url: `${base}/`, headers: { cookie: proxyCookie, accept: "text/html" } });
  assert.equal(page.statusCode, 200);
  assert.ok(page.body.includes(GATEWAY_TOKEN), "token injected into the page");
  assert.match(page.body, /^<!doctype html><html><head><script>/);
  assert.equal(page.headers["cache-control"], "no-store");
  assert.equal(page.headers["x-frame-options"], undefined);
  assert.ok(
    ([] as string[]).concat(page.headers["set-cookie"] as string[]).some((c) => c.startsWith("tropic_proxy=")),
    "renewed on activity",
  );

  const bare = await app.inject({ url: `${base}?x=1`, headers: a.auth });
  assert.equal(bare.statusCode, 308);
  assert.equal(bare.headers.location, `${base}/?x=1`);
  assert.equal((await app.inject({ url: base, headers: b.auth })).statusCode, 404);

  // Forged, expired, or another instance's session cookie: 401.
  const key = new LocalKek(TEST_KEY).derive("gateway-proxy-session");
  const forged = `${proxyCookie.slice(0, -3)}AAA`;
  const expired = `tropic_proxy=${new ProxySessions(key, () => Date.now() - 10 * 60_000 - 1000).issue(a.id, inst.id)}`;
  const almost = `tropic_proxy=${new ProxySessions(key, () => Date.now() - 9 * 60_000).issue(a.id, inst.id)}`;
  const elsewhere = `tropic_proxy=${new ProxySessions(key).issue(a.id, crypto.randomUUID())}`;
  const otherKey = `tropic_proxy=${new ProxySessions(Buffer.alloc(32, 1)).issue(a.id, inst.id)}`;
  for (const c of [forged, expired, elsewhere, otherKey])
    assert.equal((await app.inject({ url: `${base}/echo`, headers: { cookie: c } })).statusCode, 401, c);
  assert.equal((await app.inject({ url: `${base}/echo`, headers: { cookie: almost } })).statusCode, 200, "within the TTL");
  // A's valid proxy cookie does not work for B's identity on a different instance, and B's own cookie
  // cannot be minted without the key: covered above. B with a proxy cookie for A's instance is forged.
  const bForA = `tropic_proxy=${new ProxySessions(key).issue(b.id, inst.id)}`;
  assert.equal((await app.inject({ url: `${base}/echo`, headers: { cookie: bForA } })).statusCode, 404);

  // WebSocket: same auth, round trip through the real server.
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}${base}/ws?session=main`;
  assert.equal((await wsOpen(url, {})).status, 401);
  const bWs = await wsOpen(url, b.auth);
  assert.equal(bWs.status, 404);
  assert.equal(bWs.body, missing.body);
  assert.equal((await wsOpen(url, { cookie: expired })).status, 401);
  for (const headers of [a.auth, { cookie: proxyCookie }, { cookie: a.cookie }]) {
    const { ws } = await wsOpen(url, headers);
    assert.ok(ws, "upgraded");
    const reply = new Promise<string>((r) => ws.once("message", (d) => r(String(d))));
    ws.send("stop");
    assert.equal(await reply, "echo:stop", "messages pass unfiltered");
    ws.close();
  }
  const wsSeen = up.seen.at(-1)!;
  assert.equal(wsSeen.url, "/ws?session=main");
  assert.equal(wsSeen.headers.authorization, undefined);
  assert.equal(wsSeen.headers.cookie, undefined);

  // The gateway token never reaches a log line.
  const logs = h.logs.join("\n");
  assert.ok(logs.length > 0);
  assert.ok(!logs.includes(GATEWAY_TOKEN), "token absent from logs");
});

test("gateway proxy against a real gateway: Control UI page with the token injected, WebSocket round trip, B gets 404", {
  timeout: 600_000,
}, async (t) => {
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  t.after(async () => {
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const root = new Api(server.url);
  const a = await root.as(`pa-${Date.now()}@example.com`);
  const b = await root.as(`pb-${Date.now()}@example.com`);
  const inst = (await a.call("POST", "/api/v1/instances", { name: "proxied-real" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "instance running");
  const token = instanceFiles(dataDir, inst.id).config().gateway.auth.token as string;
  assert.match(token, /^[0-9a-f]{48}$/);

  const page = await fetch(`${server.url}/i/${inst.id}/`, { headers: { ...a.auth, accept: "text/html" } });
  const html = await page.text();
  assert.equal(page.status, 200, html.slice(0, 300));
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.ok(html.includes(token), "token injected into the Control UI page");
  assert.match(html, /<script/);
  assert.equal(page.headers.get("x-frame-options"), null);
  assert.equal(page.headers.get("content-security-policy"), null);
  assert.equal((await fetch(`${server.url}/i/${inst.id}/`, { headers: { ...b.auth, accept: "text/html" } })).status, 404);

  const wsUrl = `${server.url.replace(/^http/, "ws")}/i/${inst.id}/`;
  assert.equal((await wsOpen(wsUrl, b.auth)).status, 404);
  const { ws } = await wsOpen(wsUrl, a.auth);
  assert.ok(ws, "upgraded through the proxy");
  type Frame = { type?: string; id?: string; event?: string; ok?: boolean; error?: unknown };
  const frames: Frame[] = [];
  const next = (pred: (f: Frame) => boolean, ms = 30_000) =>
    new Promise<Frame>((resolve, reject) => {
      const found = frames.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no matching frame; got ${JSON.stringify(frames).slice(0, 500)}`)), ms);
      const on = () => {
        const f = frames.find(pred);
        if (f) {
          clearTimeout(timer);
          ws.off("message", on);
          resolve(f);
        }
      };
      ws.on("message", on);
    });
  ws.on("message", (d) => frames.push(JSON.parse(String(d))));
  await next((f) => f.type === "event" && f.event === "connect.challenge").catch(() => null);
  const id = crypto.randomUUID();
  ws.send(
    JSON.stringify({
      type: "req",
      id,
      method: "connect",
      params: {
        minProtocol: 4,
        maxProtocol: 4,
        client: { id: "gateway-client", version: "tropic-test", platform: process.platform, mode: "backend" },
        role: "operator",
        scopes: ["operator.read"],
        auth: { token },
      },
    }),
  );
  const res = await next((f) => f.type === "res" && f.id === id);
  assert.equal(res.ok, true, JSON.stringify(res.error));
  ws.close();
});
