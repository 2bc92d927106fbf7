// The instance's Google token endpoint (agent/src/google-token.ts) on the agent's loopback listener,
// shared with the gateway's model calls: the secret is required, the control plane is asked once per
// token lifetime, not_connected is 409, other connections pass through untouched; and the real
// gws-sheets wrapper reads a MOCK Google Sheets with the token it got there.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { MARKETPLACE_ROOT } from "@tropic/marketplace";
import { startMockGoogle } from "../../marketplace/test/mock-google.ts";
import { Asks, answerTokenRequest, GOOGLE_TOKEN_PATH, routeLoopback, type TokenAnswer, TokenCache } from "../src/google-token.ts";

const SECRET = "s".repeat(64);

async function listener(getToken: () => Promise<TokenAnswer>) {
  const cache = new TokenCache(getToken);
  const passed: Buffer[] = [];
  const server: Server = createServer((c: Socket) => {
    routeLoopback(
      c,
      (head) => void answerTokenRequest(c, head, SECRET, cache),
      (first) => {
        // stands for the model proxy's stream: echoes what it got, HTTP-shaped
        const chunks = [first];
        c.on("data", (d) => chunks.push(d));
        c.resume();
        setTimeout(() => {
          const all = Buffer.concat(chunks);
          passed.push(all);
          c.end(`HTTP/1.1 200 OK\r\ncontent-length: ${all.length}\r\nconnection: close\r\n\r\n${all}`);
        }, 50);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, passed, cache, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("token endpoint: secret required, one ask per token lifetime, 409 not_connected, model calls pass through", async (t) => {
  let asked = 0;
  let answer: TokenAnswer = { ok: true, result: { access_token: "ya29.first", expires_at: new Date(Date.now() + 3600_000).toISOString() } };
  const l = await listener(async () => {
    asked++;
    return answer;
  });
  t.after(() => l.close());
  const u = `${l.url}${GOOGLE_TOKEN_PATH}`;
  assert.equal((await fetch(u)).status, 401);
  assert.equal((await fetch(u, { headers: { authorization: `Bearer ${"x".repeat(64)}` } })).status, 401);
  assert.equal((await fetch(u, { headers: { authorization: "Bearer short" } })).status, 401);
  assert.equal(asked, 0, "the control plane is not asked for a caller without the secret");
  const auth = { authorization: `Bearer ${SECRET}` };
  const r1 = await fetch(u, { headers: auth });
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get("cache-control"), "no-store");
  const b1 = (await r1.json()) as { access_token: string; expires_at: string };
  assert.equal(b1.access_token, "ya29.first");
  const b2 = (await (await fetch(u, { headers: auth })).json()) as { access_token: string };
  assert.equal(b2.access_token, "ya29.first");
  assert.equal(asked, 1, "a cached token is handed out until shortly before it expires");
  assert.equal((await fetch(u, { method: "POST", headers: auth })).status, 200, "POST is not the token endpoint's: it is passed on");
  // not connected: 409, and nothing cached
  l.cache.clear();
  answer = { ok: false, error: "Google is not connected", code: "not_connected" };
  const r3 = await fetch(u, { headers: auth });
  assert.equal(r3.status, 409);
  assert.deepEqual(await r3.json(), { error: "not_connected" });
  answer = { ok: false, error: "the control plane did not answer in time", code: "unavailable" };
  assert.equal((await fetch(u, { headers: auth })).status, 502);
  // a model call (another path) reaches the model proxy byte for byte
  const body = JSON.stringify({ model: "claude", messages: [] });
  const mr = await fetch(`${l.url}/v1/messages`, { method: "POST", body, headers: { "content-type": "application/json" } });
  assert.equal(mr.status, 200);
  const echoed = await mr.text();
  assert.match(echoed, /^POST \/v1\/messages HTTP\/1\.1\r\n/);
  assert.ok(echoed.endsWith(body));
});

test("Asks: an answer frame resolves its question; a closed connection fails them all", async () => {
  const sent: string[] = [];
  const asks = new Asks((f) => {
    sent.push(f);
    return true;
  });
  const p = asks.ask("google_token");
  const f = JSON.parse(sent[0]!) as { type: string; id: string; what: string };
  assert.equal(f.type, "ask");
  assert.equal(f.what, "google_token");
  asks.answer({ id: "other", ok: true, result: { access_token: "no", expires_at: "x" } });
  asks.answer({ id: f.id, ok: true, result: { access_token: "ya29.a", expires_at: "2030-01-01T00:00:00Z" } });
  assert.deepEqual(await p, { ok: true, result: { access_token: "ya29.a", expires_at: "2030-01-01T00:00:00Z" } });
  const q = asks.ask("google_token");
  asks.closeAll();
  assert.equal((await q).ok, false);
  const offline = new Asks(() => false);
  assert.deepEqual(await offline.ask("google_token"), { ok: false, error: "the instance is not connected to Tropic right now", code: "unavailable" });
});

test("MOCK Google Sheets: gws-sheets gets its token from the agent's endpoint (with the secret) and reads the sheet", async (t) => {
  const g = await startMockGoogle();
  t.after(() => g.close());
  g.spreadsheets.set("1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", {
    sheets: [
      {
        title: "Sheet1",
        rows: [
          ["name", "amount"],
          ["Alice", "100"],
        ],
      },
    ],
  });
  const l = await listener(async () => ({ ok: true, result: { access_token: g.token, expires_at: new Date(Date.now() + 3600_000).toISOString() } }));
  t.after(() => l.close());
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          join(MARKETPLACE_ROOT, "skills/google-sheets/bin/gws-sheets"),
          "+read",
          "--spreadsheet",
          "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms",
          "--range",
          "Sheet1!A1:B2",
        ],
        { env: { PATH: process.env.PATH ?? "", TROPIC_SHEETS_API_BASE: g.url, TROPIC_GOOGLE_TOKEN_URL: `${l.url}${GOOGLE_TOKEN_PATH}`, ...env } },
        (e, out, err) => resolve({ code: (e as { code?: number } | null)?.code ?? 0, out, err }),
      );
    });
  const ok = await run({ TROPIC_GOOGLE_TOKEN_SECRET: SECRET });
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out).values, [
    ["name", "amount"],
    ["Alice", "100"],
  ]);
  const auths = g.requests.filter((r) => r.path.startsWith("/v4/")).map((r) => r.auth);
  assert.deepEqual(auths, [`Bearer ${g.token}`]);
  const without = await run({});
  assert.equal(without.code, 1);
  assert.match(without.err, /HTTP 401/);
  assert.doesNotMatch(without.err + without.out, new RegExp(g.token));
});
