// The bypass and near-miss lists from the issue, against the base pack alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate } from "../src/index.ts";

import { MUST_ALLOW, MUST_DENY } from "./lists.ts";

test("base pack denies every bypass from the issue", async () => {
  const g = await Gate.create({ packs: ["base"], home: "/home/u" });
  for (const c of MUST_DENY) assert.equal(g.decide({ tool: "exec", params: { command: c } }).decision, "deny", JSON.stringify(c));
});

test("base pack allows every near-miss from the issue", async () => {
  const g = await Gate.create({ packs: ["base"], home: "/home/u" });
  for (const c of MUST_ALLOW) assert.equal(g.decide({ tool: "exec", params: { command: c } }).decision, "allow", JSON.stringify(c));
  for (const p of ["docs/secrets-management.md", ".env.example"]) {
    assert.equal(g.decide({ tool: "read", params: { path: p } }).decision, "allow", p);
    assert.equal(g.decide({ tool: "exec", params: { command: `cat ${p}` } }).decision, "allow", `cat ${p}`);
  }
});

test("fail closed: unparseable or malformed calls are denied with a reason", async () => {
  const g = await Gate.create({ packs: ["base"], home: "/home/u" });
  for (const call of [
    { tool: "exec", params: { command: "echo 'unterminated" } },
    { tool: "exec", params: {} },
    { tool: "", params: {} },
    { tool: "exec", params: [] as unknown as Record<string, unknown> },
  ]) {
    const d = g.decide(call);
    assert.equal(d.decision, "deny");
    assert.match(d.reason, /fail/i);
  }
});

test("shell reads and writes hit the same file rules as read/write tools", async () => {
  const g = await Gate.create({ packs: ["base"], home: "/home/u" });
  for (const c of [
    "less ~/.ssh/id_rsa",
    "cp ~/.aws/credentials /tmp/x",
    "base64 < ~/.aws/credentials",
    "tee /etc/hosts < x",
    "sed -i s/a/b/ /etc/hosts",
    "echo x >> /etc/profile",
  ])
    assert.equal(g.decide({ tool: "exec", params: { command: c } }).decision, "deny", c);
});
