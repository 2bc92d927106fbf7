import assert from "node:assert/strict";
import { test } from "node:test";
import { SEED_POLICY_RULES } from "@tropic/marketplace";
import { migrate } from "../src/db/migrate.ts";
import { backends, freshDatabase, signUp, testApp } from "./harness.ts";

const SEED_POLICY = SEED_POLICY_RULES.join("\n");

for (const kind of await backends()) {
  test(`[${kind}] the API v1 end to end`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const { app } = h;
    const admin = await signUp(app);
    const u = await signUp(app);
    const call = (method: string, url: string, payload?: unknown, who = u) =>
      app.inject({ method: method as "GET", url, headers: who.auth, ...(payload !== undefined ? { payload: payload as object } : {}) });

    let instanceId = "";
    await t.test("instances: create records desired state with provider defaults", async () => {
      const res = await call("POST", "/api/v1/instances", { name: "home" });
      assert.equal(res.statusCode, 201, res.body);
      const i = res.json();
      assert.deepEqual([i.provider, i.region, i.instanceType, i.desiredState, i.state], ["local", "local", "local", "running", "provisioning"]);
      instanceId = i.id;
      assert.equal((await call("POST", "/api/v1/instances", { name: "cloud" })).statusCode, 201);
      const bad = await call("POST", "/api/v1/instances", { name: "x", provider: "aws", region: "mars-1" });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.field, "region");
      assert.match(bad.json().error.message, /us-east-1/);
      const badType = await call("POST", "/api/v1/instances", { name: "x", provider: "aws", instanceType: "m5.24xlarge" });
      assert.equal(badType.json().error.field, "instanceType");
    });

    await t.test("instances: a provider this server does not run is refused, and nothing is created", async () => {
      const count = async () => Number((await h.database.pool.query("SELECT count(*) AS n FROM instances")).rows[0].n);
      const before = await count();
      // (byo, a user's own machine, is offered by every Tropic server: hosts.test.ts)
      for (const provider of ["aws", "gcp"]) {
        const res = await call("POST", "/api/v1/instances", { name: `on-${provider}`, provider });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error.field, "provider");
        assert.equal(
          res.json().error.message,
          provider === "aws"
            ? "Cloud (AWS) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE, TROPIC_AWS_PROXY_CIDRS, TROPIC_PUBLIC_URL (see docs/aws.md)"
            : `provider "${provider}" is not available on this Tropic server (available: local, byo)`,
        );
      }
      const valid = await call("POST", "/api/v1/instances", { name: "typed", provider: "aws", region: "eu-west-2", instanceType: "t3.small" });
      assert.equal(valid.json().error.field, "provider", "a valid cloud spec is still refused here");
      assert.equal(await count(), before, "nothing was created");
    });

    await t.test("instances: names are unique per owner among live instances (409 naming name)", async () => {
      const dup = await call("POST", "/api/v1/instances", { name: "home" });
      assert.equal(dup.statusCode, 409, dup.body);
      assert.deepEqual(dup.json().error, { code: "conflict", message: 'an instance named "home" already exists', field: "name" });
      const spaced = await call("POST", "/api/v1/instances", { name: "  home " });
      assert.equal(spaced.statusCode, 409, "names are trimmed before they are compared");
      const cloud = (await call("GET", "/api/v1/instances?limit=200")).json().items.find((i: { name: string }) => i.name === "cloud");
      const rename = await call("PATCH", `/api/v1/instances/${cloud.id}`, { name: "home" });
      assert.equal(rename.statusCode, 409);
      assert.equal(rename.json().error.field, "name");
      assert.equal((await call("PATCH", `/api/v1/instances/${instanceId}`, { name: "home" })).statusCode, 200, "its own name is no conflict");
      // Another user may use the name; a deleted instance frees it.
      const other = await signUp(app);
      assert.equal((await call("POST", "/api/v1/instances", { name: "home" }, other)).statusCode, 201);
      const temp = (await call("POST", "/api/v1/instances", { name: "temp" })).json();
      assert.equal((await call("DELETE", `/api/v1/instances/${temp.id}`)).statusCode, 202);
      const again = await call("POST", "/api/v1/instances", { name: "temp" });
      assert.equal(again.statusCode, 201, again.body);
      assert.equal((await call("DELETE", `/api/v1/instances/${again.json().id}`)).statusCode, 202);
      // Two creates at once: the database decides, one wins.
      const both = await Promise.all([call("POST", "/api/v1/instances", { name: "race" }), call("POST", "/api/v1/instances", { name: "race" })]);
      assert.deepEqual(both.map((r) => r.statusCode).sort(), [201, 409]);
      const race = (await call("GET", "/api/v1/instances?limit=200")).json().items.find((i: { name: string }) => i.name === "race");
      assert.equal((await call("DELETE", `/api/v1/instances/${race.id}`)).statusCode, 202);
    });

    await t.test("instances: stop, start, rename, and pagination", async () => {
      assert.equal((await call("POST", `/api/v1/instances/${instanceId}/stop`)).json().desiredState, "stopped");
      assert.equal((await call("POST", `/api/v1/instances/${instanceId}/start`)).json().desiredState, "running");
      assert.equal((await call("PATCH", `/api/v1/instances/${instanceId}`, { name: "renamed" })).json().name, "renamed");
      for (let i = 0; i < 3; i++) await call("POST", "/api/v1/instances", { name: `p${i}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/api/v1/instances?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
        const pageRes = (await call("GET", url)).json();
        seen.push(...pageRes.items.map((x: { id: string }) => x.id));
        cursor = pageRes.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5, "no duplicates across pages");
      assert.equal((await call("GET", "/api/v1/instances?cursor=garbage")).json().error.field, "cursor");
    });

    let policyId = "";
    await t.test("policies: the seed's rules compile; a bad line is refused with its number", async () => {
      const res = await call("POST", "/api/v1/policies", { name: "seed", text: SEED_POLICY });
      assert.equal(res.statusCode, 201, res.body);
      const p = res.json();
      policyId = p.id;
      assert.equal(p.rules.length, 8);
      assert.ok(p.rules.every((r: { explanation: string }) => r.explanation.length > 0));
      const bad = await call("POST", "/api/v1/policies", { name: "bad", text: "ALLOW: browse any public website\nDENY: frobnicate the quux" });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.field, "text");
      assert.match(bad.json().error.message, /line 2/);
      const upd = await call("PUT", `/api/v1/policies/${policyId}`, { text: `${SEED_POLICY}\n# tweaked` });
      assert.equal(upd.json().version, 2);
      const refused = await call("PUT", `/api/v1/policies/${policyId}`, { text: "NOPE: x" });
      assert.equal(refused.statusCode, 400);
      assert.equal((await call("GET", `/api/v1/policies/${policyId}`)).json().version, 2, "a refused update changes nothing");
      // Names are unique per owner: a second "seed" (or a rename to it) is a 409 naming the field.
      const dup = await call("POST", "/api/v1/policies", { name: "seed", text: SEED_POLICY });
      assert.equal(dup.statusCode, 409, dup.body);
      assert.deepEqual([dup.json().error.field, dup.json().error.message], ["name", 'a policy named "seed" already exists']);
      const other = (await call("POST", "/api/v1/policies", { name: "other", text: SEED_POLICY })).json();
      const rename = await call("PUT", `/api/v1/policies/${other.id}`, { name: "seed", text: SEED_POLICY });
      assert.equal(rename.statusCode, 409);
      assert.equal((await call("GET", `/api/v1/policies/${other.id}`)).json().version, 1, "the refused rename changed nothing");
      assert.equal((await call("DELETE", `/api/v1/policies/${other.id}`)).statusCode, 204);
      const names = (await call("GET", "/api/v1/policies")).json().items.map((p: { name: string }) => p.name);
      assert.deepEqual(names, ["seed"]);
    });

    await t.test("agents: deploy from a template with a policy; at most 5 active per instance", async () => {
      const res = await call("POST", "/api/v1/agents", { instanceId, templateId: "personal-assistant", policyId });
      assert.equal(res.statusCode, 201, res.body);
      const a = res.json();
      assert.equal(a.state, "provisioning");
      assert.equal(a.model, "anthropic/claude-sonnet-4-6", "the template's default model");
      assert.equal(a.slug, "personal-assistant");
      const dup = await call("POST", "/api/v1/agents", { instanceId, templateId: "personal-assistant" });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().error.field, "slug");
      for (const tpl of ["research-analyst", "customer-support", "devops-helper", "content-writer"])
        assert.equal((await call("POST", "/api/v1/agents", { instanceId, templateId: tpl })).statusCode, 201);
      const sixth = await call("POST", "/api/v1/agents", { instanceId, templateId: "sales-sdr" });
      assert.equal(sixth.statusCode, 409);
      assert.equal(sixth.json().error.field, "instanceId");
      assert.match(sixth.json().error.message, /5 agents/);
      assert.equal((await call("POST", `/api/v1/agents/${a.id}/stop`)).json().state, "stopped");
      assert.equal((await call("POST", "/api/v1/agents", { instanceId, templateId: "sales-sdr" })).statusCode, 201, "a stopped agent frees a slot");
      const list = (await call("GET", `/api/v1/agents?instanceId=${instanceId}`)).json();
      assert.equal(list.items.length, 6);
      const unknown = await call("POST", "/api/v1/agents", { instanceId, templateId: "no-such-template" });
      assert.equal(unknown.json().error.field, "templateId");
      const patched = await call("PATCH", `/api/v1/agents/${a.id}`, { policyId: null, model: "openai/gpt-5" });
      assert.deepEqual([patched.json().policyId, patched.json().model], [null, "openai/gpt-5"]);
    });

    await t.test("settings: defaults, updates, and per-field validation", async () => {
      const s = (await call("GET", "/api/v1/settings")).json();
      assert.deepEqual([s.blockBrowser, s.phoneMode, s.sshRotationDays, s.model], [false, "unrestricted", 90, "anthropic/claude-sonnet-4-6"]);
      const upd = await call("PATCH", "/api/v1/settings", {
        blockCodeExecution: true,
        dailyCreditCap: 500,
        maxSessionMinutes: 120,
        phoneMode: "allowlist",
        phonePatterns: ["+6591234567", "+65*", "+1415*"],
        sshAllowlist: ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"],
      });
      assert.equal(upd.statusCode, 200, upd.body);
      assert.deepEqual(upd.json().phonePatterns, ["+6591234567", "+65*", "+1415*"]);
      const cases: [object, string][] = [
        [{ phonePatterns: ["+65*", "12345"] }, "phonePatterns.1"],
        [{ sshAllowlist: ["10.0.0.0/33"] }, "sshAllowlist.0"],
        [{ dailyCreditCap: -5 }, "dailyCreditCap"],
        [{ maxSessionMinutes: 1e9 }, "maxSessionMinutes"],
        [{ sshRotationDays: 45 }, "sshRotationDays"],
        [{ model: "gpt-9000" }, "model"],
        [{ defaultInstanceType: "x1.32xlarge" }, "defaultInstanceType"],
        [{ model: "custom" }, "customModel"],
      ];
      for (const [body, field] of cases) {
        const res = await call("PATCH", "/api/v1/settings", body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.body}`);
        assert.equal(res.json().error.field, field, JSON.stringify(body));
      }
      const after = (await call("GET", "/api/v1/settings")).json();
      assert.equal(after.dailyCreditCap, 500, "refused updates changed nothing");
      // Toggles and phone rules are queued for every live instance's gate (hot reload through the instance agent).
      const pushes = await h.database.pool.query(
        "SELECT instance_id, payload FROM instance_commands WHERE owner_id = $1 AND kind = 'set_gate_config' ORDER BY seq DESC",
        [u.id],
      );
      const live = (await call("GET", "/api/v1/instances?limit=200")).json().items.map((i: { id: string }) => i.id);
      const latest = new Map<string, { config: { settings: { blockCodeExecution: boolean }; phoneRules: { mode: string; patterns: string[] } } }>();
      for (const r of pushes.rows) if (!latest.has(r.instance_id)) latest.set(r.instance_id, r.payload);
      for (const id of live) {
        const cfg = latest.get(id)?.config;
        assert.ok(cfg, `instance ${id} got the settings`);
        assert.equal(cfg.settings.blockCodeExecution, true);
        assert.deepEqual(cfg.phoneRules, { mode: "allowlist", patterns: ["+6591234567", "+65*", "+1415*"] });
      }
      const custom = await call("PATCH", "/api/v1/settings", {
        model: "custom",
        customModel: { provider: "my-llm", modelId: "llama-3.3-70b", baseUrl: "https://llm.example.com/v1" },
      });
      assert.equal(custom.statusCode, 200, custom.body);
    });

    await t.test("credentials: write-only, encrypted at rest", async () => {
      const secret = "sk-ant-api03-THIS-IS-A-TEST-SECRET-VALUE-1234";
      const put = await call("PUT", "/api/v1/credentials/ANTHROPIC_API_KEY", { value: secret });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().last4, "1234");
      assert.ok(!put.body.includes(secret));
      const list = await call("GET", "/api/v1/credentials");
      assert.ok(!list.body.includes(secret));
      assert.equal(list.json().items[0].name, "ANTHROPIC_API_KEY");
      const dump = await h.database.pool.query("SELECT c::text AS row FROM credentials c");
      assert.ok(dump.rows.length > 0);
      for (const r of dump.rows) assert.ok(!r.row.includes(secret) && !r.row.includes(Buffer.from(secret).toString("hex")), "no plaintext at rest");
      assert.equal((await call("PUT", "/api/v1/credentials/BAD NAME", { value: "x" })).statusCode, 400);
      assert.equal((await call("PUT", "/api/v1/credentials/EMPTY", { value: "" })).json().error.field, "value");
      assert.equal((await call("PUT", "/api/v1/credentials/HUGE", { value: "x".repeat(16_385) })).json().error.field, "value");
      const names = (await call("GET", "/api/v1/credentials")).json().items.map((c: { name: string }) => c.name);
      assert.ok(!names.includes("EMPTY") && !names.includes("HUGE"), "nothing stored for refused secrets");
      assert.equal((await call("DELETE", "/api/v1/credentials/ANTHROPIC_API_KEY")).statusCode, 204);
    });

    await t.test("skills: install with validated credentials, disable, uninstall", async () => {
      const bad = await call("POST", `/api/v1/instances/${instanceId}/skills`, { slug: "notion", credentials: {} });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.field, "credentials.NOTION_API_KEY");
      const ok = await call("POST", `/api/v1/instances/${instanceId}/skills`, {
        slug: "notion",
        credentials: { NOTION_API_KEY: "secret_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" },
      });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await call("POST", `/api/v1/instances/${instanceId}/skills`, { slug: "google-sheets" })).statusCode, 201);
      assert.equal((await call("PATCH", `/api/v1/instances/${instanceId}/skills/notion`, { enabled: false })).json().enabled, false);
      assert.equal((await call("GET", `/api/v1/instances/${instanceId}/skills`)).json().items.length, 2);
      assert.equal((await call("DELETE", `/api/v1/instances/${instanceId}/skills/notion`)).statusCode, 204);
      const creds = (await call("GET", "/api/v1/credentials")).json().items.map((c: { name: string }) => c.name);
      assert.ok(creds.includes("skill:notion:NOTION_API_KEY"));
    });

    await t.test("credits: admin grants, balance derived from the ledger, idempotent grants", async () => {
      assert.equal((await call("GET", "/api/v1/credits")).json().balance, 0);
      const denied = await call("POST", "/api/v1/admin/credits/grant", { email: u.email, credits: 100 });
      assert.equal(denied.statusCode, 403);
      const grant = { email: u.email, credits: 1000, idempotencyKey: "welcome-bonus-1" };
      assert.equal((await call("POST", "/api/v1/admin/credits/grant", grant, admin)).json().granted, true);
      assert.equal((await call("POST", "/api/v1/admin/credits/grant", grant, admin)).json().granted, false, "a replay credits once");
      const c = (await call("GET", "/api/v1/credits")).json();
      assert.equal(c.balance, 1000);
      assert.equal(c.ledger[0].kind, "grant");
      assert.equal((await call("GET", "/api/v1/admin/instances", undefined, admin)).json().items.length >= 5, true);
      assert.equal((await call("GET", "/api/v1/admin/instances")).statusCode, 403);
    });

    await t.test("audit events record what changed", async () => {
      const ev = (await call("GET", "/api/v1/audit-events?limit=200")).json();
      const actions = new Set(ev.items.map((e: { action: string }) => e.action));
      for (const a of [
        "auth.signup",
        "instance.create",
        "agent.deploy",
        "policy.update",
        "settings.update",
        "credential.set",
        "skill.install",
        "credits.grant",
      ])
        assert.ok(actions.has(a), `missing ${a}`);
      assert.ok(!JSON.stringify(ev).includes("secret_abcdefghijklmnop"), "no secret values in audit details");
      const first = (await call("GET", "/api/v1/audit-events?limit=2")).json();
      assert.equal(first.items.length, 2);
      const second = (await call("GET", `/api/v1/audit-events?limit=2&cursor=${first.nextCursor}`)).json();
      assert.ok(second.items[0].id < first.items[1].id, "the next page continues where the first stopped");
      assert.equal((await call("GET", "/api/v1/audit-events?cursor=abc")).json().error.field, "cursor");
    });

    await t.test("delete is two-phase: the instance disappears from lists, marked deleting", async () => {
      const res = await call("DELETE", `/api/v1/instances/${instanceId}`);
      assert.equal(res.statusCode, 202);
      assert.equal((await call("GET", `/api/v1/instances/${instanceId}`)).statusCode, 404);
      const row = await h.database.pool.query("SELECT state, desired_state FROM instances WHERE id = $1", [instanceId]);
      assert.deepEqual(row.rows[0], { state: "deleting", desired_state: "deleted" });
    });
  });
}

for (const kind of await backends()) {
  test(`[${kind}] migration 0006 applies over duplicate names: later ones get " (2)", " (3)", …`, async (t) => {
    const db = await freshDatabase(kind);
    t.after(() => db.close());
    // The database as it was before 0006, with the duplicates it allowed.
    await db.pool.query(
      "DROP INDEX instances_owner_name_key; DROP INDEX policies_owner_name_key; DELETE FROM schema_migrations WHERE name = '0006_unique_names.sql'",
    );
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    await db.pool.query("INSERT INTO users (id, email) VALUES ($1, 'a@example.com'), ($2, 'b@example.com')", [a, b]);
    const inst = (owner: string, name: string, minute: number, deleted = false) =>
      db.pool.query(
        `INSERT INTO instances (id, owner_id, name, provider, region, instance_type, desired_state, state, created_at, deleted_at)
         VALUES (gen_random_uuid(), $1, $2, 'local', 'local', 'local', 'running', 'running', $3, $4)`,
        [owner, name, new Date(Date.UTC(2026, 0, 1, 0, minute)), deleted ? new Date() : null],
      );
    await inst(a, "home", 3);
    await inst(a, "home", 1); // the oldest keeps the name
    await inst(a, "home", 2);
    await inst(a, "home (2)", 4); // a name the first rename would take
    await inst(a, "home", 5, true); // deleted rows keep theirs
    await inst(b, "home", 6);
    for (const [owner, name, minute] of [
      [a, "safe", 1],
      [a, "safe", 2],
      [b, "safe", 3],
    ] as const)
      await db.pool.query("INSERT INTO policies (id, owner_id, name, text, compiled, created_at) VALUES (gen_random_uuid(), $1, $2, '', '{}', $3)", [
        owner,
        name,
        new Date(Date.UTC(2026, 0, 1, 0, minute)),
      ]);
    assert.deepEqual(await migrate(db.pool), ["0006_unique_names.sql"]);
    const names = async (table: string) =>
      (
        await db.pool.query(
          `SELECT u.email, t.name FROM ${table} t JOIN users u ON u.id = t.owner_id ${table === "instances" ? "WHERE t.deleted_at IS NULL" : ""} ORDER BY t.created_at`,
        )
      ).rows.map((r) => `${r.email} ${r.name}`);
    assert.deepEqual(await names("instances"), [
      "a@example.com home",
      "a@example.com home (3)",
      "a@example.com home (4)",
      "a@example.com home (2)",
      "b@example.com home",
    ]);
    assert.deepEqual(await names("policies"), ["a@example.com safe", "a@example.com safe (2)", "b@example.com safe"]);
    await assert.rejects(inst(a, "home", 7), /instances_owner_name_key/, "the index holds from now on");
  });
}

test("[pglite] health, readiness, metrics, marketplace and the OpenAPI document", async (t) => {
  const h = await testApp("pglite");
  t.after(() => h.close());
  const { app } = h;
  assert.deepEqual((await app.inject("/healthz")).json(), { ok: true, status: "live" });
  assert.equal((await app.inject("/readyz")).json().status, "ready");
  const metrics = await app.inject("/metrics");
  assert.match(metrics.body, /tropic_http_requests_total/);
  const templates = (await app.inject("/api/v1/marketplace/templates")).json().items;
  assert.ok(templates.length >= 5);
  assert.ok(!("files" in templates[0]), "the list omits workspace files");
  const one = (await app.inject(`/api/v1/marketplace/templates/${templates[0].id}`)).json();
  for (const f of ["AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md"]) assert.ok(one.files[f]?.length > 0, f);
  const skills = (await app.inject("/api/v1/marketplace/skills")).json().items.map((s: { slug: string }) => s.slug);
  assert.ok(skills.includes("google-sheets") && skills.includes("notion"));
  const models = (await app.inject("/api/v1/marketplace/models")).json().items.map((m: { name: string }) => m.name);
  for (const m of ["Claude Opus 4.6", "Claude Sonnet 4.6", "Claude Haiku 4.5"]) assert.ok(models.includes(m), m);
  const doc = (await app.inject("/api/openapi.json")).json();
  assert.equal(doc.openapi.startsWith("3."), true);
  for (const p of [
    "/api/v1/instances",
    "/api/v1/instances/{id}",
    "/api/v1/agents",
    "/api/v1/policies",
    "/api/v1/settings",
    "/api/v1/credentials/{name}",
    "/api/v1/credits",
    "/api/v1/auth/signup",
  ])
    assert.ok(doc.paths[p], `OpenAPI lacks ${p}`);
  assert.ok(doc.paths["/api/v1/instances"].post.requestBody, "request bodies are documented");
  const res = await app.inject("/");
  assert.equal(res.headers["x-frame-options"], "DENY");
  assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
});

test("docs/openapi.json is the document the server serves (run `npm run openapi` after changing routes)", async () => {
  const { readFileSync } = await import("node:fs");
  const { openApiDocument } = await import("../../scripts/openapi.ts");
  const checkedIn = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
  assert.deepEqual(JSON.parse(JSON.stringify(await openApiDocument())), checkedIn);
});
