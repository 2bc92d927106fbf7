// `tropic audit` against a real control plane whose instance (a user's machine, byo) has the scripted
// stand-in agent on the real protocol, answering audits with reports of the real audit engine.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { runAudit } from "@tropic/hardening/engine.ts";
import type { IntegrityIncident } from "@tropic/hardening/types.ts";
import { byoControlPlane, freshDatabase, signUp } from "../../server/test/harness.ts";
import { connectStandInAgent } from "../../server/test/stand-in-agent.ts";

const BIN = join(new URL("../..", import.meta.url).pathname, "bin/tropic");
const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };

test("tropic audit: the report by severity, accepted findings apart, integrity incidents, --json, --accept-changes, errors in the CLI's words", async (t) => {
  const database = await freshDatabase("pglite");
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
  const { app, address } = await byoControlPlane(database);
  t.after(async () => {
    await app.close();
    gateway.close();
    await database.close();
  });
  const u = await signUp(app);
  const call = (method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });

  let incidents: IntegrityIncident[] = [
    {
      kind: "changed",
      name: "workspace/main/SOUL.md",
      path: "/home/u/.openclaw/workspace/SOUL.md",
      expected: "a".repeat(64),
      actual: "b".repeat(64),
    },
  ];
  const snapshot = { config: { gateway: { bind: "lan", auth: { mode: "token", token: "short-token" } } } };
  const accepted = { "gateway.discovery.mdns_on": "mDNS on the home network is wanted" };
  const answer = async (kind: string, payload: Record<string, unknown>) => {
    if (kind === "audit") {
      const report = runAudit({ ...snapshot, integrity: { baseline: true, incidents } }, { accepted });
      return { ok: true, result: { report, hardened: null, integrity: { baseline: true, incidents }, files: [] } };
    }
    if (kind === "accept_integrity") {
      incidents = [];
      return { ok: true, result: { accepted: payload.names } };
    }
    if (kind === "integrity") return { ok: true, result: { baseline: true, incidents, checkedAt: new Date().toISOString() } };
    return { ok: true };
  };
  const c = (await call("POST", "/api/v1/instances/connect", { name: "box" })).json();
  const creds = await (
    await fetch(`${address}/api/v1/hosts/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: c.enrolment.token, host: HOST }),
    })
  ).json();
  const agent = await connectStandInAgent({
    base: address,
    token: creds.agentToken,
    instanceId: c.instance.id,
    port: (gateway.address() as AddressInfo).port,
    answer,
  });
  t.after(() => agent.close());
  for (let i = 0; ; i++) {
    if ((await call("GET", `/api/v1/instances/${c.instance.id}/posture`)).json().score !== null) break;
    assert.ok(i < 400, "the provision audit");
    await new Promise((r) => setTimeout(r, 50));
  }

  const env = { ...process.env, TROPIC_URL: address, TROPIC_TOKEN: u.token, XDG_CONFIG_HOME: database.dataDir };
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout!.on("data", (d) => (out += d));
      p.stderr!.on("data", (d) => (err += d));
      p.on("close", (code) => resolve({ code, out, err }));
    });

  const expected = runAudit({ ...snapshot, integrity: { baseline: true, incidents } }, { accepted });
  const r = await cli(["audit", "box"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^Instance box: score ${expected.score}/100 \\(manual audit, \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\)\n`));
  assert.match(
    r.out,
    new RegExp(`CRIT ${expected.counts.CRIT}  HIGH ${expected.counts.HIGH}  MED ${expected.counts.MED}  LOW ${expected.counts.LOW}`),
  );
  // Severities in order CRIT → LOW, each finding with its evidence and fix.
  const at = (s: string) => r.out.indexOf(s);
  assert.ok(at("\nCRIT:\n") > 0 && at("\nCRIT:\n") < at("\nHIGH:\n") && at("\nHIGH:\n") < at("\nMED:\n"), r.out);
  const bind = expected.findings.find((f) => f.id === "gateway.bind.beyond_loopback")!;
  assert.ok(r.out.includes(`  gateway.bind.beyond_loopback  ${bind.title}\n    evidence: ${bind.evidence}\n    fix: ${bind.remediation}\n`), r.out);
  assert.ok(at("gateway.bind.beyond_loopback") < at("\nHIGH:\n"), "a CRIT finding under CRIT");
  assert.ok(r.out.includes("integrity.changed"), "the changed file is a finding too");
  // Accepted findings apart, with their reason, after the open ones.
  assert.ok(at("Accepted (deliberate, not counted in the score):\n  gateway.discovery.mdns_on (LOW)") > at("\nMED:\n"), r.out);
  assert.ok(r.out.includes("    reason: mDNS on the home network is wanted"));
  // Open integrity incidents, and how to accept them.
  assert.ok(
    r.out.includes(
      "Integrity incidents (1 open: changed since the baseline):\n  workspace/main/SOUL.md changed (/home/u/.openclaw/workspace/SOUL.md)",
    ),
    r.out,
  );
  assert.ok(r.out.includes('tropic audit box --accept-changes --reason "why"'));

  // --json: the API's answer.
  const j = await cli(["audit", "box", "--json"]);
  assert.equal(j.code, 0, j.err);
  const body = JSON.parse(j.out);
  assert.deepEqual(Object.keys(body), ["audit"]);
  assert.equal(body.audit.kind, "manual");
  assert.equal(body.audit.score, expected.score);
  assert.deepEqual(body.audit.counts, expected.counts);

  // Bad flags and bad input in the CLI's words; nothing accepted.
  const noReason = await cli(["audit", "box", "--accept-changes"]);
  assert.equal(noReason.code, 2);
  assert.equal(noReason.err, "tropic: --accept-changes needs --reason TEXT: why the changes are expected (see tropic audit --help)\n");
  const strayReason = await cli(["audit", "box", "--reason", "x"]);
  assert.equal(strayReason.code, 2);
  const long = await cli(["audit", "box", "--accept-changes", "--reason", "x".repeat(501)]);
  assert.equal(long.code, 1);
  assert.equal(long.err, "tropic: --reason must be at most 500 characters\n");
  const unknown = await cli(["audit", "nosuch"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no instance named "nosuch" \(tropic instances ls\)/);
  const flag = await cli(["audit", "box", "--fix"]);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /unknown option --fix for "tropic audit"/);

  // Accept the change as the new baseline: the next audit has no incident.
  const acc = await cli(["audit", "box", "--accept-changes", "--reason", "I rewrote the persona"]);
  assert.equal(acc.code, 0, acc.err);
  assert.equal(acc.out, "Accepted 1 integrity change on box as the new baseline.\n");
  const p = (await call("GET", `/api/v1/instances/${c.instance.id}/posture`)).json();
  assert.equal(p.incidents[0].reason, "I rewrote the persona");
  const after = await cli(["audit", "box"]);
  assert.ok(!after.out.includes("Integrity incidents"), after.out);
  assert.equal(
    (await cli(["audit", "box", "--accept-changes", "--reason", "again"])).out,
    "No open integrity incidents on box: nothing to accept.\n",
  );

  // The machine goes offline: the audit is refused in words.
  agent.close();
  for (let i = 0; (await call("GET", `/api/v1/instances/${c.instance.id}`)).json().state !== "stopped"; i++) {
    assert.ok(i < 400, "offline");
    await new Promise((r) => setTimeout(r, 50));
  }
  const off = await cli(["audit", "box"]);
  assert.equal(off.code, 1);
  assert.match(off.err, /^tropic: the instance is not running \(or its agent is not connected\); start it first/);
});
