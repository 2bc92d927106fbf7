import assert from "node:assert/strict";
import { test } from "node:test";
import { backends, signUp, testApp } from "./harness.ts";

const SQL_NASTIES = [
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "Robert'); DELETE FROM instances;--",
  "$$; SELECT pg_sleep(5); $$",
  "\\x00' UNION SELECT password_hash FROM users --",
];

for (const kind of await backends()) {
  test(`[${kind}] bad input gets a 4xx naming the field, and nothing is written`, async (t) => {
    const h = await testApp(kind, { bodyLimit: 64 * 1024 });
    t.after(() => h.close());
    const { app } = h;
    const u = await signUp(app);
    const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "base" } })).json();
    const count = async (table: string) => Number((await h.database.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    const before = {
      instances: await count("instances"),
      agents: await count("agents"),
      policies: await count("policies"),
      credentials: await count("credentials"),
    };

    const raw = (method: string, url: string, body: string, type = "application/json") =>
      app.inject({ method: method as "POST", url, headers: { ...u.auth, "content-type": type }, payload: body });
    const json = (method: string, url: string, payload: unknown) =>
      app.inject({ method: method as "POST", url, headers: u.auth, payload: payload as object });

    const writes: [string, string, Record<string, unknown>][] = [
      ["POST", "/api/v1/instances", { name: "n" }],
      ["PATCH", `/api/v1/instances/${inst.id}`, { name: "n" }],
      ["POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant" }],
      ["POST", "/api/v1/policies", { name: "p", text: "DENY: run sudo or elevated commands" }],
      ["PATCH", "/api/v1/settings", { blockBrowser: true }],
      ["PUT", "/api/v1/credentials/SOME_KEY", { value: "v-123456789" }],
      ["POST", "/api/v1/auth/signup", { email: "new@example.com", password: "long enough pw" }],
      ["POST", "/api/v1/tokens", { name: "t" }],
    ];

    await t.test("malformed JSON", async () => {
      for (const [m, url] of writes) {
        const res = await raw(m, url, '{"name": "x",');
        assert.equal(res.statusCode, 400, `${m} ${url}`);
        assert.deepEqual([res.json().error.code, res.json().error.field], ["invalid_json", "body"]);
      }
    });

    await t.test("unknown fields are rejected by name", async () => {
      for (const [m, url, good] of writes) {
        const res = await json(m, url, { ...good, isAdmin: true });
        assert.equal(res.statusCode, 400, `${m} ${url} ${res.body}`);
        assert.equal(res.json().error.field, "isAdmin", `${m} ${url}`);
      }
    });

    await t.test("wrong types name the field", async () => {
      for (const [m, url, good] of writes) {
        for (const key of Object.keys(good)) {
          const res = await json(m, url, { ...good, [key]: { nested: [1, 2] } });
          assert.equal(res.statusCode, 400, `${m} ${url} ${key}: ${res.body}`);
          assert.equal(res.json().error.field, key, `${m} ${url}`);
          assert.ok(res.json().error.message.length > 0);
        }
      }
    });

    await t.test("oversized bodies are refused", async () => {
      const res = await json("POST", "/api/v1/policies", { name: "big", text: "#".repeat(100 * 1024) });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().error.code, "body_too_large");
      const long = await json("POST", "/api/v1/instances", { name: "x".repeat(81) });
      assert.equal(long.json().error.field, "name");
    });

    await t.test("non-JSON content types are refused", async () => {
      const res = await raw("POST", "/api/v1/instances", "name=x", "application/x-www-form-urlencoded");
      assert.equal(res.statusCode, 415);
    });

    await t.test("bad ids in the path name the field", async () => {
      const res = await app.inject({ url: "/api/v1/instances/not-a-uuid", headers: u.auth });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.field, "id");
    });

    await t.test("a taken name is a 409 naming the field; a provider this server lacks is a 400 naming provider", async () => {
      const pol = (await json("POST", "/api/v1/policies", { name: "taken", text: "DENY: run sudo or elevated commands" })).json();
      before.policies++;
      for (const [m, url, body] of [
        ["POST", "/api/v1/instances", { name: "base" }],
        ["POST", "/api/v1/policies", { name: "taken", text: "DENY: run sudo or elevated commands" }],
      ] as const) {
        const res = await json(m, url, body);
        assert.equal(res.statusCode, 409, `${m} ${url} ${res.body}`);
        assert.deepEqual([res.json().error.code, res.json().error.field], ["conflict", "name"]);
      }
      const other = (await json("POST", "/api/v1/policies", { name: "other", text: "DENY: run sudo or elevated commands" })).json();
      before.policies++;
      assert.equal((await json("PUT", `/api/v1/policies/${other.id}`, { name: "taken", text: "# x" })).statusCode, 409);
      assert.equal(pol.name, "taken");
      for (const provider of ["aws", "nowhere", "'; DROP TABLE instances; --"]) {
        const res = await json("POST", "/api/v1/instances", { name: `p-${provider.length}`, provider });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error.field, "provider");
        // aws without AWS configured says what to set (docs/aws.md); an unknown provider lists the available ones.
        assert.match(
          res.json().error.message,
          provider === "aws"
            ? /^Cloud \(AWS\) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE, TROPIC_AWS_PROXY_CIDRS, TROPIC_PUBLIC_URL/
            : /is not available on this Tropic server \(available: local, byo\)$/,
        );
      }
    });

    assert.deepEqual(
      {
        instances: await count("instances"),
        agents: await count("agents"),
        policies: await count("policies"),
        credentials: await count("credentials"),
      },
      before,
      "no rejected request wrote anything",
    );

    await t.test("SQL metacharacters in every string field are data, never code", async () => {
      for (const nasty of SQL_NASTIES) {
        const i = await json("POST", "/api/v1/instances", { name: nasty });
        assert.equal(i.statusCode, 201, i.body);
        assert.equal(i.json().name, nasty, "stored verbatim");
        const region = await json("POST", "/api/v1/instances", { name: "r", provider: "aws", region: nasty });
        assert.equal(region.json().error.field, "region");
        assert.equal((await json("PATCH", `/api/v1/instances/${inst.id}`, { name: `renamed ${nasty}` })).json().name, `renamed ${nasty}`);
        const ag = await json("POST", "/api/v1/agents", { instanceId: inst.id, templateId: nasty });
        assert.equal(ag.json().error.field, "templateId");
        const agName = await json("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant", name: nasty, slug: nasty });
        assert.equal(agName.json().error.field, "slug");
        const pol = await json("POST", "/api/v1/policies", { name: nasty, text: `# ${nasty}\nDENY: run sudo or elevated commands` });
        assert.equal(pol.statusCode, 201, pol.body);
        const polBad = await json("POST", "/api/v1/policies", { name: "p", text: `DENY: ${nasty}` });
        assert.equal(polBad.json().error.field, "text");
        const cred = await json("PUT", `/api/v1/credentials/${encodeURIComponent(nasty)}`, { value: "x-123456789" });
        assert.equal(cred.json().error.field, "name");
        const credVal = await json("PUT", "/api/v1/credentials/NASTY_VALUE", { value: nasty });
        assert.equal(credVal.statusCode, 200);
        const set = await json("PATCH", "/api/v1/settings", { phonePatterns: [nasty] });
        assert.equal(set.json().error.field, "phonePatterns.0");
        const set2 = await json("PATCH", "/api/v1/settings", { model: nasty });
        assert.equal(set2.json().error.field, "model");
        const cur = await app.inject({ url: `/api/v1/instances?cursor=${encodeURIComponent(nasty)}`, headers: u.auth });
        assert.equal(cur.json().error.field, "cursor");
        const login = await json("POST", "/api/v1/auth/signin", { email: nasty, password: nasty });
        assert.equal(login.json().error.field, "email");
      }
      for (const table of ["users", "instances", "agents", "policies", "credentials"]) {
        const { rows } = await h.database.pool.query("SELECT to_regclass($1) AS t", [table]);
        assert.equal(rows[0].t, table, `${table} still exists`);
      }
      assert.ok((await count("users")) > 0 && (await count("instances")) > 0, "and still has its rows");
    });
  });
}
