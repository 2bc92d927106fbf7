import assert from "node:assert/strict";
import { test } from "node:test";
import { backends, signUp, testApp } from "./harness.ts";

for (const kind of await backends()) {
  test(`[${kind}] sign-up, sessions, API tokens and sign-out`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const { app } = h;

    const first = await signUp(app, "Founder@Example.com", "founder password 1");
    assert.equal(first.isAdmin, true, "the first account is the admin");
    const second = await signUp(app, "second@example.com", "second password 2");
    assert.equal(second.isAdmin, false, "later accounts are not");

    await t.test("the session cookie is HttpOnly and SameSite=Lax", async () => {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/auth/signin",
        payload: { email: "founder@example.com", password: "founder password 1" },
      });
      assert.equal(res.statusCode, 200);
      const cookie = String(res.headers["set-cookie"]);
      assert.match(cookie, /tropic_session=tps_/);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
      assert.doesNotMatch(cookie, /Secure/, "plain http in tests: no Secure flag");
    });

    await t.test("emails are case-insensitive and unique", async () => {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/auth/signup",
        payload: { email: "FOUNDER@example.com", password: "another password" },
      });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.field, "email");
    });

    await t.test("a wrong password and an unknown email get the same answer", async () => {
      const a = await app.inject({
        method: "POST",
        url: "/api/v1/auth/signin",
        payload: { email: "founder@example.com", password: "wrong password!!" },
      });
      const b = await app.inject({
        method: "POST",
        url: "/api/v1/auth/signin",
        payload: { email: "nobody@example.com", password: "wrong password!!" },
      });
      assert.equal(a.statusCode, 401);
      assert.deepEqual(a.json(), b.json());
    });

    await t.test("cookie and API token both authenticate; garbage does not", async () => {
      assert.equal((await app.inject({ url: "/api/v1/me", headers: { cookie: first.cookie } })).json().email, "founder@example.com");
      assert.equal((await app.inject({ url: "/api/v1/me", headers: first.auth })).json().isAdmin, true);
      for (const headers of [{}, { authorization: "Bearer trp_forged" }, { authorization: "Basic abc" }, { cookie: "tropic_session=tps_forged" }]) {
        const res = await app.inject({ url: "/api/v1/me", headers });
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        assert.equal(res.json().error.code, "unauthorized");
      }
    });

    await t.test("tokens are listed without their value, and revoked tokens stop working", async () => {
      const list = (await app.inject({ url: "/api/v1/tokens", headers: first.auth })).json();
      assert.ok(list.items.length >= 1);
      assert.ok(!JSON.stringify(list).includes(first.token), "the token value is never returned again");
      const created = (await app.inject({ method: "POST", url: "/api/v1/tokens", headers: first.auth, payload: { name: "ci" } })).json();
      assert.equal((await app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${created.token}` } })).statusCode, 200);
      assert.equal((await app.inject({ method: "DELETE", url: `/api/v1/tokens/${created.id}`, headers: first.auth })).statusCode, 204);
      assert.equal((await app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${created.token}` } })).statusCode, 401);
      const stored = await h.database.pool.query("SELECT token_hash FROM api_tokens WHERE id = $1", [created.id]);
      assert.notEqual(stored.rows[0].token_hash, created.token, "only the hash is stored");
    });

    await t.test("sign-out ends the session", async () => {
      const res = await app.inject({ method: "POST", url: "/api/v1/auth/signout", headers: { cookie: second.cookie } });
      assert.equal(res.statusCode, 204);
      assert.equal((await app.inject({ url: "/api/v1/me", headers: { cookie: second.cookie } })).statusCode, 401);
    });

    await t.test("passwords and tokens never reach the logs", async () => {
      const all = h.logs.join("");
      assert.ok(all.length > 0, "logs were captured");
      for (const secret of ["founder password 1", "second password 2", first.token, first.cookie.split("=")[1]!, second.token])
        assert.ok(!all.includes(secret), `log contains a secret: ${secret.slice(0, 6)}…`);
    });
  });
}

test("[pglite] auth routes are rate limited", async (t) => {
  const h = await testApp("pglite", { authRateLimit: 3 });
  t.after(() => h.close());
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await h.app.inject({ method: "POST", url: "/api/v1/auth/signin", payload: { email: "x@example.com", password: "whatever123" } });
    codes.push(res.statusCode);
  }
  assert.deepEqual(codes, [401, 401, 401, 429, 429]);
  const res = await h.app.inject({ method: "POST", url: "/api/v1/auth/signin", payload: { email: "x@example.com", password: "whatever123" } });
  assert.equal(res.json().error.code, "rate_limited");
});

test("[pglite] simultaneous first sign-ups make exactly one admin", async (t) => {
  const h = await testApp("pglite");
  t.after(() => h.close());
  const users = await Promise.all(Array.from({ length: 5 }, (_, i) => signUp(h.app, `racer${i}@example.com`)));
  assert.equal(users.filter((u) => u.isAdmin).length, 1);
});

test("[pglite] a state-changing request authenticated by cookie must come from Tropic's own origin; API tokens are not affected", async (t) => {
  const h = await testApp("pglite");
  t.after(() => h.close());
  const { app } = h;
  const u = await signUp(app, "origin@example.com");
  const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "o" } })).json();
  const restart = (headers: Record<string, string>) =>
    app.inject({
      method: "POST",
      url: `/api/v1/instances/${inst.id}/restart`,
      headers: { host: "tropic.test:8080", "content-type": "text/plain", ...headers },
      payload: "",
    });
  // The finding: a foreign page's form post with the user's cookie restarted the instance.
  const crossSite: Record<string, string>[] = [
    { origin: "https://evil.example" },
    { origin: "null" },
    { origin: "http://tropic.test:8080", "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
  ];
  for (const cross of crossSite) {
    const r = await restart({ cookie: u.cookie, ...cross });
    assert.equal(r.statusCode, 403, JSON.stringify(cross));
    assert.match(r.json().error.message, /cross-site requests are refused/);
  }
  // A same-site page on another port is another origin (the Control UI's own origin is one of those).
  assert.equal((await restart({ cookie: u.cookie, origin: "http://tropic.test:9999" })).statusCode, 403);
  // Tropic's own pages (either scheme on the same host), and clients that are not browsers, pass.
  const own: Record<string, string>[] = [
    { origin: "http://tropic.test:8080", "sec-fetch-site": "same-origin" },
    { origin: "https://tropic.test:8080" },
    {},
  ];
  for (const o of own) assert.equal((await restart({ cookie: u.cookie, ...o })).statusCode, 202, JSON.stringify(o));
  // Reading is not state-changing; API tokens are never sent by a browser on its own.
  assert.equal((await app.inject({ url: "/api/v1/instances", headers: { cookie: u.cookie, origin: "https://evil.example" } })).statusCode, 200);
  assert.equal((await restart({ ...u.auth, origin: "https://evil.example" })).statusCode, 202);
});
