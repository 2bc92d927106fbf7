// Settings → Connections → Google against a MOCK Google OAuth 2.0 server (authorization code + PKCE,
// refresh): the verifier is checked, a state is used once and only by the session that started it, the
// refresh token is sealed at rest and never returned, instances get access tokens through their agent's
// `ask` (only their own owner's), not_connected when there is none, a revoked grant disconnects.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { eq } from "drizzle-orm";
import type WebSocket from "ws";
import { startMockGoogle } from "../../marketplace/test/mock-google.ts";
import { instances, oauthStates } from "../src/db/schema.ts";
import { sealJson } from "../src/instances/tokens.ts";
import { sha256Hex } from "../src/lib/tokens.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { signUp, TEST_KEY, type TestUser, testApp } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const PUBLIC = "https://tropic.example";
const SCOPE = "https://www.googleapis.com/auth/spreadsheets";

/** The agent's question and the control plane's answer, over the agent's real WebSocket. */
function ask(ws: WebSocket): Promise<{ ok: boolean; result?: { access_token: string; expires_at: string }; error?: string; code?: string }> {
  const id = randomBytes(8).toString("hex");
  return new Promise((resolve) => {
    const on = (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const f = JSON.parse(String(data));
      if (f.type === "answer" && f.id === id) {
        ws.off("message", on);
        resolve(f);
      }
    };
    ws.on("message", on);
    ws.send(JSON.stringify({ type: "ask", id, what: "google_token" }));
  });
}

test("[pglite] MOCK Google OAuth: connect with PKCE, state one use per session, sealed refresh token, access tokens for the owner's instances only", async (t) => {
  const g = await startMockGoogle();
  const h = await testApp("pglite", {
    publicUrl: PUBLIC,
    google: {
      clientId: g.oauth.clientId,
      clientSecret: g.oauth.clientSecret,
      authUrl: g.oauth.authUrl,
      tokenUrl: g.oauth.tokenUrl,
      revokeUrl: g.oauth.revokeUrl,
    },
  });
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const agents: { close(): void }[] = [];
  t.after(async () => {
    for (const a of agents) a.close();
    await h.close();
    await g.close();
  });
  const inject = (u: TestUser, method: "GET" | "POST" | "DELETE", url: string) =>
    h.app.inject({ method, url, headers: { cookie: u.cookie, origin: PUBLIC } });
  const a = await signUp(h.app);
  const b = await signUp(h.app);

  assert.deepEqual((await inject(a, "GET", "/api/v1/connections/google")).json(), {
    configured: true,
    connected: false,
    scope: null,
    connectedAt: null,
  });

  /** "Connect Google": start, Google's page (the mock approves), the redirect's path on Tropic. */
  async function authorize(u: TestUser): Promise<{ callback: string; params: URLSearchParams }> {
    const r = await inject(u, "POST", "/api/v1/connections/google/start");
    assert.equal(r.statusCode, 200, r.body);
    const url = new URL(r.json().url);
    const res = await fetch(url, { redirect: "manual" });
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get("location")!);
    assert.equal(back.origin + back.pathname, `${PUBLIC}/api/v1/connections/google/callback`);
    return { callback: back.pathname + back.search, params: url.searchParams };
  }

  // The authorization request: code flow, PKCE S256, offline access with consent, the spreadsheets scope only.
  const first = await authorize(a);
  const p = first.params;
  assert.equal(p.get("response_type"), "code");
  assert.equal(p.get("code_challenge_method"), "S256");
  assert.equal(p.get("access_type"), "offline");
  assert.equal(p.get("prompt"), "consent");
  assert.equal(p.get("scope"), SCOPE);
  assert.equal(p.get("redirect_uri"), `${PUBLIC}/api/v1/connections/google/callback`);
  assert.equal(p.get("client_id"), g.oauth.clientId);
  const state = p.get("state")!;
  assert.ok(state.length >= 40);
  // the state is stored only as its hash, with a short life
  const rows = await h.database.db
    .select()
    .from(oauthStates)
    .where(eq(oauthStates.stateHash, sha256Hex(state)));
  assert.equal(rows.length, 1);
  assert.ok(rows[0]!.expiresAt.getTime() - Date.now() <= 10 * 60_000 + 1000);
  assert.equal((await h.database.db.select().from(oauthStates).where(eq(oauthStates.stateHash, state))).length, 0);

  // Another user's session cannot complete A's authorization (and it is spent).
  const stolen = await inject(b, "GET", first.callback);
  assert.equal(stolen.statusCode, 303);
  assert.equal(stolen.headers.location, "/settings?google=bad_state#connections");
  assert.equal((await inject(b, "GET", "/api/v1/connections/google")).json().connected, false);
  assert.equal((await inject(a, "GET", first.callback)).headers.location, "/settings?google=bad_state#connections", "a state is used once");

  // The PKCE verifier is what Google checks: a wrong one (planted in the store) is refused, nothing stored.
  const second = await authorize(a);
  await h.database.db
    .update(oauthStates)
    .set({ verifierEnc: await sealJson(new LocalKek(TEST_KEY), "w".repeat(64)) })
    .where(eq(oauthStates.stateHash, sha256Hex(second.params.get("state")!)));
  assert.equal((await inject(a, "GET", second.callback)).headers.location, "/settings?google=exchange_failed#connections");
  assert.deepEqual(g.oauth.grants.at(-1), { grantType: "authorization_code", ok: false, error: "invalid_grant" });
  assert.equal((await inject(a, "GET", "/api/v1/connections/google")).json().connected, false);

  // Google says no: nothing stored, Settings says so.
  g.oauth.deny = true;
  assert.equal((await inject(a, "GET", (await authorize(a)).callback)).headers.location, "/settings?google=denied#connections");
  g.oauth.deny = false;

  // A state started by another session of the same user is refused too.
  const otherSession = await h.app.inject({
    method: "POST",
    url: "/api/v1/auth/signin",
    payload: { email: a.email, password: "correct horse battery" },
  });
  assert.equal(otherSession.statusCode, 200, otherSession.body);
  const a2 = { ...a, cookie: String(otherSession.headers["set-cookie"]).split(";")[0]! };
  assert.equal((await inject(a2, "GET", (await authorize(a)).callback)).headers.location, "/settings?google=bad_state#connections");

  // The real thing.
  g.oauth.expiresIn = 90; // under the two minutes a cached token must have left: every ask refreshes
  const ok = await authorize(a);
  const done = await inject(a, "GET", ok.callback);
  assert.equal(done.statusCode, 303);
  assert.equal(done.headers.location, "/settings?google=connected#connections");
  assert.deepEqual(g.oauth.grants.at(-1), { grantType: "authorization_code", ok: true });
  const status = (await inject(a, "GET", "/api/v1/connections/google")).json();
  assert.equal(status.connected, true);
  assert.equal(status.scope, SCOPE);
  assert.ok(Date.parse(status.connectedAt) > Date.now() - 60_000);
  assert.equal((await inject(a, "GET", ok.callback)).headers.location, "/settings?google=bad_state#connections", "replayed: refused");
  const refresh = g.oauth.refreshTokens.at(-1)!;

  // Instances: A's agent gets a fresh access token (refreshed at Google), B's gets not_connected.
  async function agentOf(u: TestUser) {
    const inst = (
      await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: `i${randomBytes(3).toString("hex")}` } })
    ).json();
    const token = randomBytes(32).toString("hex");
    await h.database.db
      .update(instances)
      .set({ agentTokenHash: sha256Hex(token) })
      .where(eq(instances.id, inst.id));
    const agent = await connectStandInAgent({ base, token, instanceId: inst.id, port: 1 });
    agents.push(agent);
    return agent;
  }
  const agentA = await agentOf(a);
  const agentB = await agentOf(b);
  const grantsBefore = g.oauth.grants.length;
  const t1 = await ask(agentA.ws);
  assert.equal(t1.ok, true, t1.error);
  assert.ok(g.oauth.accessTokens.includes(t1.result!.access_token), "a token Google issued");
  assert.ok(Date.parse(t1.result!.expires_at) > Date.now());
  assert.deepEqual(g.oauth.grants.slice(grantsBefore), [{ grantType: "refresh_token", ok: true }], "refreshed with the stored refresh token");
  // it opens the spreadsheet at the MOCK Sheets API
  g.spreadsheets.set("s1", { sheets: [{ title: "Sheet1", rows: [["x"]] }] });
  const sheet = await fetch(`${g.url}/v4/spreadsheets/s1/values/Sheet1!A1`, { headers: { authorization: `Bearer ${t1.result!.access_token}` } });
  assert.equal(sheet.status, 200);
  const tb = await ask(agentB.ws);
  assert.deepEqual({ ok: tb.ok, code: tb.code }, { ok: false, code: "not_connected" });
  assert.equal(JSON.stringify(tb).includes("ya29"), false);
  // an ask naming something else (or another owner) gets nothing: the hub answers for the connection's owner
  agentB.ws.send(JSON.stringify({ type: "ask", id: "x1", what: "google_token", ownerId: a.id }));
  const tb2 = await ask(agentB.ws);
  assert.equal(tb2.code, "not_connected");

  // At rest: sealed. Neither the refresh token nor any access token is in the database's bytes; no route returns one.
  await h.database.pool.query("CHECKPOINT");
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else parts.push(readFileSync(p));
    }
  };
  walk(join(h.config.dataDir, "pgdata"));
  const dump = Buffer.concat(parts);
  assert.ok(dump.length > 100_000);
  assert.equal(dump.includes(Buffer.from(refresh)), false, "the refresh token is not in the database in plaintext");
  for (const at of g.oauth.accessTokens) assert.equal(dump.includes(Buffer.from(at)), false, "no access token in the database");
  for (const l of h.logs) {
    assert.equal(l.includes(refresh), false, "not in the logs");
    for (const at of g.oauth.accessTokens) assert.equal(l.includes(at), false, "no access token in the logs");
  }
  const body = (await inject(a, "GET", "/api/v1/connections/google")).body;
  assert.equal(body.includes(refresh) || body.includes("ya29"), false);

  // Google forgets the grant (the user removed access in their Google account): not_connected, and the connection goes.
  g.oauth.revoke(refresh);
  const t2 = await ask(agentA.ws);
  assert.deepEqual({ ok: t2.ok, code: t2.code }, { ok: false, code: "not_connected" });
  assert.equal((await inject(a, "GET", "/api/v1/connections/google")).json().connected, false);

  // Connect again, then Disconnect: the instance gets not_connected at once (the cache is dropped too).
  g.oauth.expiresIn = 3599;
  assert.equal((await inject(a, "GET", (await authorize(a)).callback)).headers.location, "/settings?google=connected#connections");
  assert.equal((await ask(agentA.ws)).ok, true);
  const n = g.oauth.grants.length;
  assert.equal((await ask(agentA.ws)).ok, true);
  assert.equal(g.oauth.grants.length, n, "a token with an hour left is served from memory");
  const lastRefresh = g.oauth.refreshTokens.at(-1)!;
  assert.equal(g.oauth.revoked.has(lastRefresh), false);
  assert.equal((await inject(a, "DELETE", "/api/v1/connections/google")).statusCode, 204);
  assert.equal(g.oauth.revoked.has(lastRefresh), true, "Disconnect revoked the grant at Google");
  assert.equal((await inject(a, "GET", "/api/v1/connections/google")).json().connected, false);
  assert.equal((await ask(agentA.ws)).code, "not_connected");
});

test("[pglite] Google connection without a client configured: status says so, start is refused in words", async (t) => {
  const h = await testApp("pglite");
  t.after(() => h.close());
  const u = await signUp(h.app);
  assert.deepEqual((await h.app.inject({ method: "GET", url: "/api/v1/connections/google", headers: u.auth })).json(), {
    configured: false,
    connected: false,
    scope: null,
    connectedAt: null,
  });
  const r = await h.app.inject({ method: "POST", url: "/api/v1/connections/google/start", headers: u.auth });
  assert.equal(r.statusCode, 409);
  assert.match(r.json().error.message, /no Google client configured/);
});

test("Google connection config: a client id without its secret, or an endpoint in clear text off loopback, stops the start naming the variable", async () => {
  const { loadConfig } = await import("../src/config.ts");
  assert.equal(loadConfig({}).google, undefined);
  assert.throws(() => loadConfig({ TROPIC_GOOGLE_CLIENT_ID: "x.apps.googleusercontent.com" }), /TROPIC_GOOGLE_CLIENT_SECRET/);
  const base = { TROPIC_GOOGLE_CLIENT_ID: "x.apps.googleusercontent.com", TROPIC_GOOGLE_CLIENT_SECRET: "s" };
  assert.deepEqual(loadConfig(base).google, {
    clientId: "x.apps.googleusercontent.com",
    clientSecret: "s",
    authUrl: "https://accounts.google.com/o/oauth2/v2/auth",
    tokenUrl: "https://oauth2.googleapis.com/token",
    revokeUrl: "https://oauth2.googleapis.com/revoke",
  });
  assert.throws(
    () => loadConfig({ ...base, TROPIC_GOOGLE_OAUTH_TOKEN_URL: "http://oauth.example/token" }),
    /TROPIC_GOOGLE_OAUTH_TOKEN_URL must be an https/,
  );
  assert.throws(
    () => loadConfig({ ...base, TROPIC_GOOGLE_AUTH_URL: "https://u:p@accounts.example/auth" }),
    /TROPIC_GOOGLE_AUTH_URL must be a plain base URL/,
  );
  assert.equal(loadConfig({ ...base, TROPIC_GOOGLE_OAUTH_TOKEN_URL: "http://127.0.0.1:9/token" }).google?.tokenUrl, "http://127.0.0.1:9/token");
});
