// The score formula, accepted findings, OpenClaw's findings folded in, and the seeded
// misconfigurations: each found with the right severity, the score dropping by the formula.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatReport, runAudit, score, tropicAccepted } from "../src/engine.ts";
import type { Snapshot } from "../src/types.ts";
import { clean, withConfig, withSnap } from "./fixtures.ts";

describe("score", () => {
  it("is 100 − 15·CRIT − 8·HIGH − 3·MED − 1·LOW, floored at 0", () => {
    assert.equal(score({}), 100);
    assert.equal(score({ CRIT: 1 }), 85);
    assert.equal(score({ HIGH: 1 }), 92);
    assert.equal(score({ MED: 1 }), 97);
    assert.equal(score({ LOW: 1 }), 99);
    assert.equal(score({ CRIT: 2, HIGH: 3, MED: 4, LOW: 5 }), 100 - 30 - 24 - 12 - 5);
    assert.equal(score({ CRIT: 7 }), 0);
    assert.equal(score({ CRIT: 100 }), 0);
  });
  it("a clean host scores 100 with every check run", () => {
    const r = runAudit(clean());
    assert.deepEqual(r.findings, []);
    assert.equal(r.score, 100);
    assert.equal(r.notApplicable, 0);
  });
  it("an empty snapshot is all not applicable, not a pass", () => {
    const r = runAudit({});
    assert.equal(r.passed, 0);
    assert.equal(r.findings.length, 0);
    assert.ok(r.notApplicable >= 56);
  });
});

const SEEDED: { name: string; s: Snapshot; id: string; sev: string }[] = [
  {
    name: "gateway bound beyond loopback",
    s: withConfig({ gateway: { bind: "lan", auth: { rateLimit: { maxAttempts: 10 } } } }),
    id: "gateway.bind.beyond_loopback",
    sev: "CRIT",
  },
  { name: "short token", s: withConfig({ gateway: { auth: { token: "abc123def456" } } }), id: "gateway.auth.token_short", sev: "HIGH" },
  {
    name: ".env world-readable",
    s: withSnap({ files: { env: { path: "/home/u/.openclaw/.env", mode: 0o644, uid: 1000, gid: 1000 } } }),
    id: "fs.env.readable",
    sev: "HIGH",
  },
  {
    name: "a key pasted into SOUL.md",
    s: withSnap({ identityFiles: { "SOUL.md": "Never share personal data. Key: AKIAIOSFODNN7EXAMPLX\n" } }),
    id: "secrets.identity_files",
    sev: "CRIT",
  },
  { name: "the gate disabled", s: withConfig({ plugins: { entries: { "tropic-gate": { enabled: false } } } }), id: "gate.enabled", sev: "CRIT" },
  {
    name: "an unknown plugin",
    s: withSnap({ installed: { plugins: [{ id: "tropic-gate", sha256: "b".repeat(64) }, { id: "whatsapp" }, { id: "shady-plugin" }] } }),
    id: "supply.plugin_unknown",
    sev: "HIGH",
  },
];

describe("seeded misconfigurations", () => {
  for (const t of SEEDED)
    it(`${t.name} → ${t.id} ${t.sev}, score drops by the formula`, () => {
      const r = runAudit(t.s);
      assert.deepEqual(
        r.findings.map((f) => [f.id, f.severity]),
        [[t.id, t.sev]],
      );
      assert.equal(r.score, score({ [t.sev]: 1 }));
      assert.ok(r.findings[0]!.remediation && r.findings[0]!.evidence && r.findings[0]!.frameworks.length);
    });
  it("all six at once", () => {
    const s = withConfig({
      gateway: { bind: "lan", auth: { token: "abc123def456", rateLimit: { maxAttempts: 10 } } },
      plugins: { entries: { "tropic-gate": { enabled: false } } },
    });
    s.files!.env = SEEDED[2]!.s.files!.env;
    s.identityFiles = SEEDED[3]!.s.identityFiles;
    s.installed = SEEDED[5]!.s.installed;
    const r = runAudit(s);
    const ids = r.findings.map((f) => f.id).sort();
    assert.deepEqual(ids, SEEDED.map((t) => t.id).sort());
    assert.equal(r.score, 100 - 3 * 15 - 3 * 8);
  });
});

describe("accepted findings and OpenClaw's own audit", () => {
  it("an accepted finding is shown apart with its reason and not counted", () => {
    const s = withConfig({ gateway: { bind: "lan", auth: { rateLimit: { maxAttempts: 10 } } } });
    const r = runAudit(s, {
      accepted: { "gateway.bind.beyond_loopback": "The VM's nginx and WireGuard peers reach the gateway (the seed's documented override)" },
    });
    assert.equal(r.findings.length, 0);
    assert.equal(r.score, 100);
    assert.equal(r.accepted.length, 1);
    assert.equal(r.accepted[0]!.status, "ACCEPTED");
    assert.match(r.accepted[0]!.reason!, /nginx/);
    assert.match(formatReport(r), /ACCEPTED \(1, not counted in the score\)[\s\S]*accepted: The VM's nginx/);
  });
  it("Tropic's deliberate settings (no Docker sandbox inside an isolated gateway; exec decided by the gate) are accepted only while isolation and the gate are in force", () => {
    const s = withConfig({ agents: { defaults: { sandbox: { mode: "off" } } }, tools: { exec: { mode: undefined } } });
    s.isolation = { kind: "bubblewrap" };
    const r = runAudit(s, { accepted: tropicAccepted(s) });
    assert.deepEqual(r.findings, []);
    assert.deepEqual(r.accepted.map((f) => f.id).sort(), ["sandbox.agent_mode_off", "tools.exec.mode_full"]);
    s.isolation = { kind: "none" };
    s.config = withConfig({
      agents: { defaults: { sandbox: { mode: "off" } } },
      tools: { exec: { mode: undefined } },
      plugins: { entries: { "tropic-gate": { enabled: false } } },
    }).config;
    const r2 = runAudit(s, { accepted: tropicAccepted(s) });
    assert.deepEqual(r2.findings.map((f) => f.id).sort(), [
      "gate.enabled",
      "sandbox.agent_mode_off",
      "sandbox.host_isolation",
      "tools.exec.mode_full",
    ]);
  });
  it("folds OpenClaw findings in: critical → CRIT, warn → MED, info ignored, duplicates of ours dropped", () => {
    const s = withConfig({ gateway: { auth: { token: "abc123def456" } } });
    s.openclawAudit = {
      findings: [
        { checkId: "gateway.token_too_short", severity: "warn", title: "short token" },
        { checkId: "models.weak_tier", severity: "warn", title: "Weak model tier", detail: "gpt-3.5", remediation: "Pick a current model" },
        { checkId: "hooks.allowed_agent_ids_unrestricted", severity: "critical", title: "Hooks route anywhere" },
        { checkId: "summary.attack_surface", severity: "info", title: "summary" },
        { checkId: "channels.whatsapp.dm.open", severity: "critical", title: "open DMs" },
      ],
    };
    const r = runAudit(s);
    assert.deepEqual(
      r.findings.map((f) => [f.id, f.severity, f.source]),
      [
        ["openclaw:hooks.allowed_agent_ids_unrestricted", "CRIT", "openclaw"],
        ["gateway.auth.token_short", "HIGH", "tropic"],
        ["openclaw:models.weak_tier", "MED", "openclaw"],
      ],
    );
    assert.equal(r.score, 100 - 15 - 8 - 3);
  });
  it("the text report carries every finding with evidence and remediation", () => {
    const r = runAudit(withConfig({ gateway: { auth: { mode: "none" } } }));
    const t = formatReport(r);
    assert.match(t, /Posture score: 85\/100/);
    assert.match(t, /\[CRIT\] gateway\.auth\.none[\s\S]*evidence: +gateway\.auth\.mode is "none"[\s\S]*remediation:/);
  });
});

describe("OpenClaw 2026.9.6's real `security audit --json` output", () => {
  it("folds in what Tropic's checks do not decide, drops what they do", async () => {
    const { readFileSync } = await import("node:fs");
    const { parseOpenclawAudit } = await import("../src/collect.ts");
    // captured from the runtime's openclaw on a state dir with bind lan, a 5-character token, open
    // WhatsApp DMs, a 0644 openclaw.json and a 0755 state directory
    const raw = readFileSync(new URL("./data/openclaw-security-audit-2026.9.6.json", import.meta.url), "utf8");
    const oc = parseOpenclawAudit(raw);
    assert.ok(oc && oc.findings.length >= 10);
    const s = withConfig({ gateway: { bind: "lan", auth: { token: "short" } }, channels: { whatsapp: { dmPolicy: "open", allowFrom: ["*"] } } });
    s.files!.config = { path: "/c", mode: 0o644, uid: 1000, gid: 1000 };
    s.files!.stateDir = { path: "/s", mode: 0o755, uid: 1000, gid: 1000, dir: true };
    s.openclawAudit = oc;
    const r = runAudit(s);
    const ids = r.findings.map((f) => f.id);
    // theirs that ours decide are not counted twice
    for (const dup of [
      "openclaw:gateway.token_too_short",
      "openclaw:gateway.auth_no_rate_limit",
      "openclaw:fs.config.perms_world_readable",
      "openclaw:fs.state_dir.perms_readable",
    ])
      assert.ok(!ids.includes(dup), dup);
    for (const ours of ["gateway.auth.token_short", "gateway.auth.rate_limit", "fs.config.readable", "fs.state_dir.readable", "channels.dm_open"])
      assert.ok(ids.includes(ours), ours);
    // theirs that we have no check for are findings of their own
    assert.ok(
      r.findings.some(
        (f) => f.id === "openclaw:gateway.control_ui.allowed_origins_required" && f.severity === "CRIT" && f.remediation.includes("allowedOrigins"),
      ),
    );
    assert.ok(r.findings.some((f) => f.id === "openclaw:security.exposure.open_channels_with_exec" && f.severity === "MED"));
    assert.ok(!ids.includes("openclaw:summary.attack_surface"));
  });
});
