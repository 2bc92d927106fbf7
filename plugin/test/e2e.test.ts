// End-to-end: the plugin inside a REAL OpenClaw gateway (pinned runtime), real agent turns, real tool
// calls. Only the model is scripted (an OpenAI-compatible server on 127.0.0.1). One gateway serves
// every scenario; it is restarted once, for the fail-closed-at-load case.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Instance } from "./harness.ts";
import { textOf } from "./model-server.ts";

const AWS = "AKIAIOSFODNN7EXAMPLE";
const GH = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5";
const REDACTED = "[REDACTED BY SONDERA POLICY]";

describe("tropic-gate in a real OpenClaw gateway (scripted model server)", { timeout: 600_000 }, () => {
  const inst = new Instance({ pluginConfig: { policies: { main: "REQUIRE CONFIRM: run touch\n" } } });
  const victim = join(inst.root, "victim");
  const approvals: any[] = [];
  let nextDecision: "allow-once" | "deny" = "deny";
  const m = inst.model;
  const toolMessages = (scenario: string) => m.of(scenario).flatMap((r) => r.messages.filter((x) => x.role === "tool").map((x) => textOf(x.content)));

  before(async () => {
    mkdirSync(join(victim, "keep"), { recursive: true });
    writeFileSync(join(victim, "keep", "file.txt"), "precious\n");
    writeFileSync(join(inst.workspace, "credentials-note.txt"), `before the key\naws_access_key_id = ${AWS}\ngithub: ${GH}\nafter the token\n`);
    writeFileSync(join(inst.workspace, "notes.md"), "plain workspace notes\n");
    m.script("rmrf", [{ name: "exec", arguments: { command: `rm -rf ${victim}` } }]);
    m.script("secret", [{ name: "read", arguments: { path: join(inst.workspace, "credentials-note.txt") } }]);
    m.script("harmless", [
      { name: "exec", arguments: { command: "ls" } },
      { name: "read", arguments: { path: join(inst.workspace, "notes.md") } },
    ]);
    m.script("confirmdeny", [{ name: "exec", arguments: { command: `touch ${join(inst.root, "denied-marker")}` } }]);
    m.script("confirmallow", [{ name: "exec", arguments: { command: `touch ${join(inst.root, "allowed-marker")}` } }]);
    m.script("lsagain", [{ name: "exec", arguments: { command: "ls" } }]);
    m.script("lsthird", [{ name: "exec", arguments: { command: "ls" } }]);
    m.script("failclosed", [{ name: "exec", arguments: { command: "ls" } }]);
    await inst.start();
    const onApproval = (f: any) => {
      if (f.event !== "plugin.approval.requested") return;
      approvals.push(f.payload);
      void inst.client?.call("plugin.approval.resolve", { id: f.payload.id, decision: nextDecision }).catch(() => {});
    };
    inst.client!.on(onApproval);
    (inst as any).onApproval = onApproval;
  });

  after(async () => {
    await inst.stop();
  });

  test("exec rm -rf of a directory is blocked: it survives, the model gets the reason, the audit log has DENY with the rule id", async () => {
    const { result } = await inst.turn("rmrf");
    assert.equal(result.status, "ok");
    assert.ok(existsSync(join(victim, "keep", "file.txt")), "the directory must survive");
    const seen = toolMessages("rmrf").join("\n");
    assert.match(seen, /base-deny-rm-rf/, "the model's next request carries the block reason with the rule id");
    const line = await inst.auditLine((e) => e.tool === "exec" && e.decision === "DENY" && e.paramsDigest?.includes("rm -rf"));
    assert.deepEqual(line.rules, ["base-deny-rm-rf"]);
    assert.equal(line.agentId, "main");
    assert.equal(typeof line.durationMs, "number");
    assert.ok(Date.parse(line.ts) > 0);
  });

  test("read of a file with an AWS key and a GitHub token: the model and the transcript see only the redaction marker, text around it intact, audit REDACT", async () => {
    const { sessionKey } = await inst.turn("secret");
    const seen = toolMessages("secret").join("\n");
    assert.ok(seen.includes(REDACTED), "the model's next request has the marker");
    assert.ok(!seen.includes(AWS) && !seen.includes(GH), "the model never sees the secrets");
    assert.match(seen, /before the key\naws_access_key_id = \[REDACTED BY SONDERA POLICY\]\ngithub: \[REDACTED BY SONDERA POLICY\]\nafter the token/);
    const transcript = await inst.transcript(sessionKey);
    assert.ok(transcript.includes("REDACTED BY SONDERA POLICY"), "the stored transcript has the marker");
    assert.ok(!transcript.includes(AWS) && !transcript.includes(GH), "the stored transcript has no secret");
    assert.ok(transcript.includes("after the token"));
    const line = await inst.auditLine((e) => e.decision === "REDACT" && e.tool === "read");
    assert.ok(line.redactions.includes("aws-access-key") && line.redactions.includes("github-token"), JSON.stringify(line));
    assert.ok(line.rules.includes("base-redact-aws-keys"), JSON.stringify(line));
  });

  test("harmless calls (ls, reading a workspace file) run and are logged ALLOW", async () => {
    await inst.turn("harmless");
    const seen = toolMessages("harmless").join("\n");
    assert.match(seen, /credentials-note\.txt/, "ls ran in the workspace");
    assert.match(seen, /plain workspace notes/, "the read ran");
    await inst.auditLine((e) => e.tool === "exec" && e.decision === "ALLOW" && e.paramsDigest === '{"command":"ls"}');
    await inst.auditLine((e) => e.tool === "read" && e.decision === "ALLOW" && e.paramsDigest.includes("notes.md"));
  });

  test("REQUIRE CONFIRM raises an OpenClaw approval request: deny blocks the call, approve lets it run", async () => {
    nextDecision = "deny";
    await inst.turn("confirmdeny");
    assert.equal(existsSync(join(inst.root, "denied-marker")), false, "denied: the command did not run");
    const req = approvals.find((a) => a.request.toolCallId?.includes("confirmdeny"));
    assert.ok(req, "an approval request reached the approval client");
    assert.equal(req.request.pluginId, "tropic-gate");
    assert.match(req.request.description, /touch .*denied-marker/, "the description says exactly what would run");
    assert.match(req.request.description, /main-L1/);
    assert.deepEqual(req.request.allowedDecisions, ["allow-once", "deny"]);
    await inst.auditLine((e) => e.decision === "CONFIRM" && e.paramsDigest?.includes("denied-marker"));
    await inst.auditLine((e) => e.phase === "approval" && e.decision === "DENY" && e.approval === "deny");

    nextDecision = "allow-once";
    await inst.turn("confirmallow");
    assert.equal(existsSync(join(inst.root, "allowed-marker")), true, "approved: the command ran");
    await inst.auditLine((e) => e.phase === "approval" && e.decision === "ALLOW" && e.approval === "allow-once");
  });

  test("a policy change while the gateway runs applies on the next call; an invalid one is refused loudly and the last good set stays", async () => {
    const pid = inst.pid();
    await inst.setPluginConfig({ policies: { main: "REQUIRE CONFIRM: run touch\nDENY: run ls\n" } });
    await inst.turn("lsagain");
    assert.equal(inst.pid(), pid, "same gateway process (no restart)");
    assert.match(toolMessages("lsagain").join("\n"), /main-L2/);
    await inst.auditLine((e) => e.decision === "DENY" && e.rules.includes("main-L2"));

    await inst.setPluginConfig({ policies: { main: "DENY: frobnicate the quux\n" } });
    assert.match(inst.log(), /NEW RULE SET REFUSED/);
    await inst.turn("lsthird");
    assert.match(toolMessages("lsthird").join("\n"), /main-L2/, "the last good set still denies ls");
  });

  test("broken rule files fail closed: after a restart with an unloadable policy file every call is denied and the audit log says why", async () => {
    const file = join(inst.root, "main.policy");
    writeFileSync(file, "DENY: frobnicate the quux\n");
    const cfg = inst.readConfig();
    cfg.plugins.entries["tropic-gate"].config = { gatewayToken: inst.token, policyFiles: { main: file } };
    inst.writeConfig(cfg);
    await inst.restart();
    await inst.turn("failclosed");
    assert.match(toolMessages("failclosed").join("\n"), /tropic-fail-closed/);
    const line = await inst.auditLine((e) => e.decision === "DENY" && e.rules.includes("tropic-fail-closed"));
    assert.match(line.error, /frobnicate|line 1/);
    assert.match(inst.log(), /NO VALID RULE SET/);
  });
});
