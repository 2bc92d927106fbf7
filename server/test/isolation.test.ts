import assert from "node:assert/strict";
import { test } from "node:test";
import { backends, signUp, testApp } from "./harness.ts";

for (const kind of await backends()) {
  test(`[${kind}] user B can neither see nor touch anything of user A's`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const { app } = h;
    await signUp(app); // the admin, so neither A nor B has admin powers
    const a = await signUp(app);
    const b = await signUp(app);
    const as = (who: typeof a, method: string, url: string, payload?: object) =>
      app.inject({ method: method as "GET", url, headers: who.auth, ...(payload ? { payload } : {}) });

    const inst = (await as(a, "POST", "/api/v1/instances", { name: "a-private" })).json();
    const pol = (await as(a, "POST", "/api/v1/policies", { name: "a-policy", text: "DENY: run sudo or elevated commands" })).json();
    const agent = (await as(a, "POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant", policyId: pol.id })).json();
    await as(a, "PUT", "/api/v1/credentials/A_SECRET", { value: "a-very-private-secret-value" });
    await as(a, "POST", `/api/v1/instances/${inst.id}/skills`, { slug: "google-sheets" });
    const tokenA = (await as(a, "POST", "/api/v1/tokens", { name: "a2" })).json();
    assert.ok(inst.id && pol.id && agent.id && tokenA.id, "A's objects exist");

    const matrix: [string, string, object?][] = [
      ["GET", `/api/v1/instances/${inst.id}`],
      ["PATCH", `/api/v1/instances/${inst.id}`, { name: "hijacked" }],
      ["POST", `/api/v1/instances/${inst.id}/start`],
      ["POST", `/api/v1/instances/${inst.id}/stop`],
      ["POST", `/api/v1/instances/${inst.id}/restart`],
      ["DELETE", `/api/v1/instances/${inst.id}`],
      ["GET", `/api/v1/instances/${inst.id}/skills`],
      ["POST", `/api/v1/instances/${inst.id}/skills`, { slug: "weather" }],
      ["PATCH", `/api/v1/instances/${inst.id}/skills/google-sheets`, { enabled: false }],
      ["DELETE", `/api/v1/instances/${inst.id}/skills/google-sheets`],
      ["GET", `/api/v1/agents/${agent.id}`],
      ["PATCH", `/api/v1/agents/${agent.id}`, { name: "hijacked" }],
      ["POST", `/api/v1/agents/${agent.id}/stop`],
      ["DELETE", `/api/v1/agents/${agent.id}`],
      ["POST", "/api/v1/agents", { instanceId: inst.id, templateId: "research-analyst" }],
      ["GET", `/api/v1/policies/${pol.id}`],
      ["PUT", `/api/v1/policies/${pol.id}`, { text: "ALLOW: browse any public website" }],
      ["DELETE", `/api/v1/policies/${pol.id}`],
      ["DELETE", "/api/v1/credentials/A_SECRET"],
      ["DELETE", `/api/v1/tokens/${tokenA.id}`],
    ];
    for (const [method, url, body] of matrix) {
      const res = await as(b, method, url, body);
      assert.equal(res.statusCode, 404, `B ${method} ${url} → ${res.statusCode} ${res.body}`);
      assert.equal(res.json().error.code, "not_found");
    }

    // B may not attach A's policy to B's own agent either.
    const instB = (await as(b, "POST", "/api/v1/instances", { name: "b" })).json();
    const steal = await as(b, "POST", "/api/v1/agents", { instanceId: instB.id, templateId: "personal-assistant", policyId: pol.id });
    assert.equal(steal.statusCode, 400);
    assert.equal(steal.json().error.field, "policyId");

    // Lists leak nothing.
    const lists = [
      "/api/v1/instances",
      "/api/v1/agents",
      "/api/v1/policies",
      "/api/v1/credentials",
      "/api/v1/tokens",
      "/api/v1/audit-events",
      "/api/v1/credits",
    ];
    for (const url of lists) {
      const body = (await as(b, "GET", url)).body;
      for (const secret of [inst.id, agent.id, pol.id, tokenA.id, "A_SECRET", "a-private", "a-policy"])
        assert.ok(!body.includes(secret), `B's ${url} shows A's ${secret}`);
    }
    assert.equal((await as(b, "GET", `/api/v1/agents?instanceId=${inst.id}`)).json().items.length, 0);

    // And A's objects are untouched.
    const after = (await as(a, "GET", `/api/v1/instances/${inst.id}`)).json();
    assert.equal(after.name, "a-private");
    assert.equal((await as(a, "GET", `/api/v1/agents/${agent.id}`)).json().state, "provisioning");
    assert.equal((await as(a, "GET", `/api/v1/policies/${pol.id}`)).json().version, 1);
    assert.equal((await as(a, "GET", `/api/v1/instances/${inst.id}/skills`)).json().items.length, 1);
    assert.equal((await as(a, "GET", "/api/v1/credentials")).json().items.length, 1);
  });
}
