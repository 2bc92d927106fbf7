import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate } from "../../gate/src/index.ts";
import { compilePolicy, compileSettings, validatePhonePattern } from "../src/index.ts";

const SEED = `ALLOW: browse any public website
ALLOW: read files in workspace directory
ALLOW: execute code in sandbox environment
REQUIRE CONFIRM: download files larger than 10MB
REQUIRE CONFIRM: send WhatsApp messages
DENY: access /etc/passwd or system credentials
DENY: run sudo or elevated commands
DENY: outbound connections on port 22`;
const x = (command: string) => ({ tool: "exec", params: { command } });

test("seed examples compile, with explanations, Cedar and an AGENTS.md section", () => {
  const r = compilePolicy(SEED);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.policy.rules.length, 8);
  assert.match(r.policy.cedar, /forbid\(principal/);
  assert.match(r.policy.agentsMd, /DENY: run sudo/);
  for (const rule of r.policy.rules) assert.ok(rule.explanation.length > 10);
});

test("seed examples are enforced as a person reads them", async () => {
  const g = await Gate.create({ packs: [], policies: { "*": SEED }, home: "/home/u" });
  assert.equal(g.decide(x("curl -O https://x.io/big.iso")).decision, "confirm");
  assert.equal(g.decide(x("curl --max-filesize 1000000 -O https://x.io/small.txt")).decision, "allow");
  assert.equal(
    g.decide({ tool: "message", params: { action: "send", channel: "whatsapp", target: "+6591234567", message: "hi" } }).decision,
    "confirm",
  );
  assert.equal(g.decide({ tool: "message", params: { action: "send", channel: "slack", target: "#x", message: "hi" } }).decision, "allow");
  assert.equal(g.decide({ tool: "read", params: { path: "/etc/passwd" } }).decision, "deny");
  assert.equal(g.decide(x("cat /etc/passwd")).decision, "deny");
  assert.equal(g.decide(x("cat ~/.ssh/id_rsa")).decision, "deny");
  assert.equal(g.decide(x("sudo ls")).decision, "deny");
  assert.equal(g.decide(x("ssh me@host.example.com")).decision, "deny");
  assert.equal(g.decide(x("git clone git@github.com:a/b.git")).decision, "deny");
  assert.equal(g.decide(x("git clone https://github.com/a/b.git")).decision, "allow");
  assert.equal(g.decide({ tool: "read", params: { path: "notes.md" } }).decision, "allow");
});

test("lockdown: only what ALLOW names may run", async () => {
  const g = await Gate.create({ packs: [], policies: { "*": `MODE: lockdown\n${SEED}` }, home: "/home/u", sandbox: true });
  assert.equal(g.decide({ tool: "read", params: { path: "notes.md" } }).decision, "allow");
  assert.equal(g.decide({ tool: "read", params: { path: "/tmp/x" } }).decision, "deny");
  assert.equal(g.decide({ tool: "web_fetch", params: { url: "https://example.com" } }).decision, "allow");
  assert.equal(g.decide({ tool: "web_fetch", params: { url: "http://10.0.0.1" } }).decision, "deny");
  assert.equal(g.decide(x("python3 -c 'print(1)'")).decision, "allow");
  assert.equal(g.decide({ tool: "write", params: { path: "a.txt", content: "x" } }).decision, "deny");
});

test("unknown phrases are errors with line numbers and suggestions", () => {
  const r = compilePolicy("ALLOW: read files in workspace\n\nDENY: fly to the moon\nFOO: bar");
  assert.ok(!r.ok);
  assert.equal(r.errors[0].line, 3);
  assert.ok(r.errors[0].suggestions?.length);
  assert.equal(r.errors[1].line, 4);
});

test("a bad policy is rejected and the running gate keeps its last good set", async () => {
  const g = await Gate.create({ packs: [], policies: { "*": "DENY: run sudo" }, home: "/home/u" });
  assert.throws(() => g.reload({ "*": "DENY: nonsense words here" }), /line 1/);
  assert.equal(g.decide(x("sudo ls")).decision, "deny");
  await assert.rejects(Gate.create({ packs: [], policies: { "*": "DENY: zzz" } }), /line 1/);
});

test("catalog breadth: users' own words", () => {
  for (const p of [
    "DENY: delete files outside the workspace",
    "DENY: browse github.com",
    "REQUIRE CONFIRM: install packages",
    "DENY: run background processes",
    "DENY: change the agent's identity files",
    "REQUIRE CONFIRM: send messages to +65*",
    "DENY: read ssh keys",
    "REQUIRE CONFIRM: git push",
    "DENY: run docker",
    "ALLOW: run shell commands",
    "DENY: schedule tasks",
    "DENY: access localhost",
    "REQUIRE CONFIRM: send emails",
    "DENY: use the browser",
    "DENY: modify system files",
    "DENY: read .env files",
  ])
    assert.ok(compilePolicy(p).ok, p);
});

test("settings: toggles and phone rules", async () => {
  assert.equal(validatePhonePattern("+6591234567"), null);
  assert.equal(validatePhonePattern("+65*"), null);
  assert.equal(validatePhonePattern("+1415*"), null);
  assert.notEqual(validatePhonePattern("65*"), null);
  assert.notEqual(validatePhonePattern("+999*"), null);
  assert.notEqual(validatePhonePattern("+651"), null);
  const bad = compileSettings({
    blockBrowser: false,
    blockCodeExecution: false,
    blockOsCommands: false,
    phoneMode: "allowlist",
    phonePatterns: ["abc"],
  });
  assert.ok(!bad.ok && bad.errors[0].field === "phonePatterns[0]");
  const settings = { blockBrowser: true, blockCodeExecution: true, blockOsCommands: false, phoneMode: "allowlist" as const, phonePatterns: ["+65*"] };
  const g = await Gate.create({ packs: [], settings, home: "/home/u" });
  assert.equal(g.decide({ tool: "web_search", params: { query: "x" } }).decision, "deny");
  assert.equal(g.decide(x("chromium --headless x")).decision, "deny");
  assert.equal(g.decide(x("python3 app.py")).decision, "deny");
  assert.equal(g.decide(x("ls")).decision, "allow");
  assert.equal(
    g.decide({ tool: "message", params: { action: "send", channel: "whatsapp", target: "+6591234567", message: "hi" } }).decision,
    "allow",
  );
  assert.equal(
    g.decide({ tool: "message", params: { action: "send", channel: "whatsapp", target: "+14155550100", message: "hi" } }).decision,
    "deny",
  );
  const os = await Gate.create({
    packs: [],
    settings: { ...settings, blockBrowser: false, blockCodeExecution: false, blockOsCommands: true, phoneMode: "blocklist", phonePatterns: ["+44*"] },
  });
  assert.equal(os.decide(x("ls")).decision, "deny");
  assert.equal(
    os.decide({ tool: "message", params: { action: "send", channel: "whatsapp", target: "+447700900123", message: "hi" } }).decision,
    "deny",
  );
  assert.equal(
    os.decide({ tool: "message", params: { action: "send", channel: "whatsapp", target: "+6591234567", message: "hi" } }).decision,
    "allow",
  );
});
