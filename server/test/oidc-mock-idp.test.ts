// OIDC sign-in against a MOCK identity provider: Clerk, Auth0 or Google cannot run here, so a
// small real HTTP IdP on loopback plays their part (discovery, JWKS, PKCE-checked code exchange).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { testApp } from "./harness.ts";

async function mockIdp() {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const codes = new Map<string, { nonce: string; challenge: string; sub: string; email: string; verified: boolean }>();
  let issuer = "";
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/openid-configuration")
      return json(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });
    if (url.pathname === "/jwks") return json(200, { keys: [jwk] });
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      for await (const c of req) body += c;
      const form = new URLSearchParams(body);
      const basic = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
      if (basic !== "tropic-client:tropic-secret") return json(401, { error: "invalid_client" });
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      if (!grant || createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) return json(400, { error: "invalid_grant" });
      return json(200, { id_token: await idToken({ sub: grant.sub, email: grant.email, email_verified: grant.verified, nonce: grant.nonce }) });
    }
    json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const idToken = (claims: Record<string, unknown>, opts: { aud?: string; key?: typeof privateKey; iss?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(opts.iss ?? issuer)
      .setAudience(opts.aud ?? "tropic-client")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(opts.key ?? privateKey);
  return {
    issuer,
    idToken,
    /** Plays the user approving the sign-in at the provider: returns the code it would redirect with. */
    approve(authorizeUrl: string, who: { sub: string; email: string; verified?: boolean }) {
      const q = new URL(authorizeUrl).searchParams;
      const code = randomBytes(12).toString("hex");
      codes.set(code, {
        nonce: q.get("nonce")!,
        challenge: q.get("code_challenge")!,
        sub: who.sub,
        email: who.email,
        verified: who.verified ?? true,
      });
      return { code, state: q.get("state")! };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test("[pglite] OpenID Connect sign-in and JWT bearer auth (mock identity provider)", async (t) => {
  const idp = await mockIdp();
  const h = await testApp("pglite", {
    oidc: { issuer: idp.issuer, clientId: "tropic-client", clientSecret: "tropic-secret", name: "Acme SSO" },
    publicUrl: "http://tropic.test",
  });
  t.after(async () => {
    await h.close();
    await idp.close();
  });
  const { app } = h;

  const start = async (returnTo = "/agents") => {
    const res = await app.inject({ url: `/auth/oidc/start?returnTo=${encodeURIComponent(returnTo)}` });
    assert.equal(res.statusCode, 302);
    return { location: String(res.headers.location), cookie: String(res.headers["set-cookie"]).split(";")[0]! };
  };

  await t.test("the provider is advertised", async () => {
    assert.deepEqual((await app.inject("/api/v1/auth/providers")).json().oidc, { name: "Acme SSO", start: "/auth/oidc/start" });
  });

  await t.test("authorization code flow with PKCE creates the account and a session", async () => {
    const { location, cookie } = await start();
    const q = new URL(location).searchParams;
    assert.equal(q.get("redirect_uri"), "http://tropic.test/auth/oidc/callback");
    assert.equal(q.get("code_challenge_method"), "S256");
    const { code, state } = idp.approve(location, { sub: "user-123", email: "Ada@Example.com" });
    const cb = await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}`, headers: { cookie } });
    assert.equal(cb.statusCode, 302, cb.body);
    assert.equal(cb.headers.location, "/agents");
    const session = String(cb.headers["set-cookie"]).match(/tropic_session=[^;]+/)![0];
    const me = (await app.inject({ url: "/api/v1/me", headers: { cookie: session } })).json();
    assert.equal(me.email, "ada@example.com");
    assert.equal(me.isAdmin, true, "the first account is the admin, however it signed up");
  });

  await t.test("a second sign-in maps to the same account", async () => {
    const { location, cookie } = await start();
    const { code, state } = idp.approve(location, { sub: "user-123", email: "ada@example.com" });
    const cb = await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}`, headers: { cookie } });
    const session = String(cb.headers["set-cookie"]).match(/tropic_session=[^;]+/)![0];
    const users = await h.database.pool.query("SELECT count(*)::int AS n FROM users");
    assert.equal(users.rows[0].n, 1);
    assert.equal((await app.inject({ url: "/api/v1/me", headers: { cookie: session } })).statusCode, 200);
  });

  await t.test("forged state, a missing cookie and a replayed code are refused", async () => {
    const { location, cookie } = await start();
    const { code, state } = idp.approve(location, { sub: "user-9", email: "eve@example.com" });
    assert.equal((await app.inject({ url: `/auth/oidc/callback?code=${code}&state=forged`, headers: { cookie } })).statusCode, 401);
    assert.equal((await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}` })).statusCode, 401);
    const tampered = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    assert.equal((await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}`, headers: { cookie: tampered } })).statusCode, 401);
  });

  await t.test("an unverified email does not take over an existing password account", async () => {
    await app.inject({ method: "POST", url: "/api/v1/auth/signup", payload: { email: "bob@example.com", password: "bob's password" } });
    const { location, cookie } = await start();
    const { code, state } = idp.approve(location, { sub: "attacker", email: "bob@example.com", verified: false });
    const cb = await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}`, headers: { cookie } });
    assert.equal(cb.statusCode, 403);
  });

  await t.test("returnTo cannot redirect off-site", async () => {
    for (const evil of ["//evil.example", "https://evil.example/", "/\\evil.example"]) {
      const { location, cookie } = await start(evil);
      const { code, state } = idp.approve(location, { sub: "user-123", email: "ada@example.com" });
      const cb = await app.inject({ url: `/auth/oidc/callback?code=${code}&state=${state}`, headers: { cookie } });
      assert.equal(cb.headers.location, "/", evil);
    }
  });

  await t.test("a provider-issued JWT works as a bearer token; others do not", async () => {
    const good = await idp.idToken({ sub: "user-123", email: "ada@example.com", email_verified: true });
    assert.equal((await app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${good}` } })).json().email, "ada@example.com");
    const wrongAud = await idp.idToken({ sub: "user-123" }, { aud: "someone-else" });
    const { privateKey: otherKey } = await generateKeyPair("RS256");
    const wrongKey = await idp.idToken({ sub: "user-123" }, { key: otherKey });
    for (const bad of [wrongAud, wrongKey, "not.a.jwt"])
      assert.equal((await app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${bad}` } })).statusCode, 401);
  });
});
