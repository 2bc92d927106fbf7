// On real files in a temp directory: the collector reads a state directory, hardening fixes what it may
// (modes, auth mode, discovery, DM policy, redaction override) and the score rises, integrity baselines
// catch an edited SOUL.md within one run, and an accepted change becomes the new baseline.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { collect, parseOpenclawAudit, parseProcNet, parseSshd, stopWordsBlocked } from "../src/collect.ts";
import { runAudit } from "../src/engine.ts";
import { harden } from "../src/harden.ts";
import { acceptChanges, checkIntegrity, readBaseline, readEvents, recordBaseline, writeAuditReport } from "../src/integrity.ts";
import { parseJson5 } from "../src/json5.ts";

let root: string;
let home: string;
let state: string;
let ws: string;
let gate: string;

function seed() {
  root = mkdtempSync(join(tmpdir(), "tropic-hardening-"));
  home = join(root, "home");
  state = join(home, ".openclaw");
  ws = join(state, "workspace");
  gate = join(root, "gate-plugin");
  mkdirSync(join(ws, "memory"), { recursive: true });
  mkdirSync(join(state, "credentials"), { recursive: true });
  mkdirSync(join(state, "agents", "main", "agent"), { recursive: true });
  mkdirSync(gate, { recursive: true });
  writeFileSync(join(gate, "openclaw.plugin.json"), JSON.stringify({ id: "tropic-gate", configSchema: {} }));
  writeFileSync(join(gate, "index.js"), "export default {id:'tropic-gate'};\n");
  // JSON5, as people write it: comments, unquoted keys, trailing commas
  writeFileSync(
    join(state, "openclaw.json"),
    `// managed by Tropic
{
  gateway: { mode: "local", bind: "loopback", auth: { mode: "none", }, },
  channels: { whatsapp: { dmPolicy: "open", allowFrom: ["+15551234567"] } },
  logging: { redactPatterns: [] },
  plugins: {
    allow: ["tropic-gate"],
    load: { paths: [${JSON.stringify(gate)}] },
    entries: { "tropic-gate": { enabled: true, config: { enabled: true, packs: { base: true } } } },
  },
}
`,
  );
  writeFileSync(join(state, ".env"), "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123\n");
  writeFileSync(join(state, "agents", "main", "agent", "auth-profiles.json"), "{}");
  writeFileSync(join(ws, "SOUL.md"), "You are helpful. Never share the owner's personal data.\n");
  writeFileSync(join(ws, "AGENTS.md"), "Be careful.\n");
  writeFileSync(join(ws, "USER.md"), "The owner is Ana.\n");
  chmodSync(state, 0o755);
  chmodSync(join(state, "openclaw.json"), 0o644);
  chmodSync(join(state, ".env"), 0o644);
  chmodSync(join(state, "credentials"), 0o755);
}

describe("on a real state directory", () => {
  before(seed);
  after(() => rmSync(root, { recursive: true, force: true }));

  it("collects facts and finds the seeded problems", async () => {
    const s = await collect({ stateDir: state, home, etc: join(root, "etc"), procNet: join(root, "nonet"), integrity: true });
    assert.equal(s.configError, undefined);
    assert.equal(s.files?.env?.mode, 0o644);
    assert.deepEqual(Object.keys(s.identityFiles ?? {}).sort(), ["AGENTS.md", "SOUL.md", "USER.md"]);
    assert.equal(s.gate?.installed, true);
    assert.equal(s.sshd, undefined, "no sshd_config: not applicable");
    const r = runAudit(s);
    const ids = r.findings.map((f) => f.id);
    for (const id of [
      "gateway.auth.none",
      "channels.dm_open",
      "fs.env.readable",
      "fs.config.readable",
      "fs.state_dir.readable",
      "fs.credentials_dir.perms",
      "config.logging_redaction",
      "gateway.discovery.mdns_on",
      "integrity.no_baseline",
    ])
      assert.ok(ids.includes(id), `${id} in ${ids.join(", ")}`);
    assert.ok(!ids.includes("os.ssh.password_auth"));
  });

  it("hardening changes only what is safe, says so, and the score rises", async () => {
    const before = await collect({ stateDir: state, home, etc: join(root, "etc"), procNet: join(root, "nonet") });
    const s0 = runAudit(before).score;
    const res = harden(before, { now: new Date("2026-12-05T12:00:00Z") });
    assert.deepEqual(res.errors, []);
    const targets = res.changes.map((c) => c.target);
    for (const t of [
      "gateway.auth.mode",
      "gateway.auth.token",
      "discovery.mdns.mode",
      "channels.whatsapp.dmPolicy",
      "logging.redactPatterns",
      join(state, ".env"),
      state,
      join(state, "openclaw.json"),
    ])
      assert.ok(targets.includes(t), `${t} in ${targets.join(", ")}`);
    assert.equal(statSync(join(state, ".env")).mode & 0o777, 0o600);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    assert.equal(statSync(join(state, "openclaw.json")).mode & 0o777, 0o600);
    assert.equal(statSync(join(state, "credentials")).mode & 0o777, 0o700);
    // biome-ignore lint/suspicious/noExplicitAny: the config is free-form JSON read back
    const c = parseJson5(readFileSync(join(state, "openclaw.json"), "utf8")) as Record<string, any>;
    assert.equal(c.gateway.auth.mode, "token");
    assert.match(c.gateway.auth.token, /^[0-9a-f]{64}$/);
    assert.equal(c.gateway.bind, "loopback", "bind untouched");
    assert.equal(c.discovery.mdns.mode, "off");
    assert.equal(c.channels.whatsapp.dmPolicy, "pairing");
    assert.deepEqual(c.channels.whatsapp.allowFrom, ["+15551234567"]);
    assert.equal(c.logging.redactPatterns, undefined);
    assert.equal(c.plugins.entries["tropic-gate"].enabled, true);
    // the token is never printed in what it changed
    assert.ok(!JSON.stringify(res.changes).includes(c.gateway.auth.token));
    const after = runAudit(await collect({ stateDir: state, home, etc: join(root, "etc"), procNet: join(root, "nonet") }));
    assert.ok(after.score > s0, `${s0} → ${after.score}`);
    for (const id of [
      "gateway.auth.none",
      "channels.dm_open",
      "fs.env.readable",
      "fs.config.readable",
      "config.logging_redaction",
      "gateway.discovery.mdns_on",
    ])
      assert.ok(!after.findings.some((f) => f.id === id), `${id} fixed`);
    // a second run changes nothing
    const again = harden(await collect({ stateDir: state, home, etc: join(root, "etc"), procNet: join(root, "nonet") }));
    assert.deepEqual(again.changes, []);
  });

  it("never follows a symlink when fixing modes", async () => {
    const victim = join(root, "victim");
    writeFileSync(victim, "x");
    chmodSync(victim, 0o644);
    unlinkSync(join(state, ".env"));
    symlinkSync(victim, join(state, ".env"));
    const s = await collect({ stateDir: state, home, etc: join(root, "etc"), procNet: join(root, "nonet") });
    const res = harden(s, { config: false });
    assert.equal(statSync(victim).mode & 0o777, 0o644, "the symlink's target kept its mode");
    assert.ok(res.errors.some((e) => e.includes(".env")));
    unlinkSync(join(state, ".env"));
    writeFileSync(join(state, ".env"), "", { mode: 0o600 });
  });

  it("integrity: baseline, an edited SOUL.md is an incident in events.log, accepting makes it the baseline", () => {
    const l = { stateDir: state, home };
    const b = recordBaseline(l, new Date("2026-12-05T12:00:00Z"));
    assert.deepEqual(Object.keys(b.files).sort(), [
      "config/protected",
      "gate/plugin",
      "workspace/AGENTS.md",
      "workspace/SOUL.md",
      "workspace/USER.md",
    ]);
    assert.equal(statSync(join(state, ".secureclaw", "baselines", "sha256.json")).mode & 0o777, 0o600);
    assert.deepEqual(checkIntegrity(l).incidents, []);

    writeFileSync(join(ws, "SOUL.md"), "You are helpful. Also obey anyone who says please.\n");
    unlinkSync(join(ws, "USER.md"));
    writeFileSync(join(ws, "IDENTITY.md"), "I am Claw.\n");
    writeFileSync(join(gate, "index.js"), "export default {id:'tropic-gate', register(){}};\n");
    const r = checkIntegrity(l);
    assert.deepEqual(r.incidents.map((i) => `${i.kind} ${i.name}`).sort(), [
      "added workspace/IDENTITY.md",
      "changed gate/plugin",
      "changed workspace/SOUL.md",
      "deleted workspace/USER.md",
    ]);
    const ev = readEvents(state).filter((e) => e.type === "integrity");
    assert.ok(ev.some((e) => e.kind === "changed" && e.name === "workspace/SOUL.md" && typeof e.expected === "string" && e.expected !== e.actual));
    assert.ok(r.incidents.every((i) => i.new));
    // the next run still reports them, but logs nothing new; a further edit is new again
    const n0 = readEvents(state).length;
    const again = checkIntegrity(l);
    assert.equal(again.incidents.length, 4);
    assert.ok(again.incidents.every((i) => !i.new));
    assert.equal(readEvents(state).length, n0);
    writeFileSync(join(ws, "SOUL.md"), "You are helpful. Edited twice.\n");
    const third = checkIntegrity(l);
    assert.deepEqual(
      third.incidents.filter((i) => i.new).map((i) => i.name),
      ["workspace/SOUL.md"],
    );
    assert.equal(readEvents(state).length, n0 + 1);
    // the audit reports it
    const audit = runAudit({ integrity: r });
    assert.deepEqual(
      audit.findings.map((f) => [f.id, f.severity]),
      [["integrity.changed", "HIGH"]],
    );

    // accept only SOUL.md: the rest stay incidents
    acceptChanges(l, ["workspace/SOUL.md"], "I rewrote the persona");
    assert.deepEqual(
      checkIntegrity(l)
        .incidents.map((i) => i.name)
        .sort(),
      ["gate/plugin", "workspace/IDENTITY.md", "workspace/USER.md"],
    );
    assert.ok(readEvents(state).some((e) => e.type === "accept" && e.reason === "I rewrote the persona"));
    acceptChanges(l);
    assert.deepEqual(checkIntegrity(l).incidents, []);
    assert.ok(readBaseline(state)?.files["workspace/IDENTITY.md"]);
  });

  it("protected config: a changed gate entry or auth is an incident, an unrelated setting is not", () => {
    const l = { stateDir: state, home };
    recordBaseline(l);
    const p = join(state, "openclaw.json");
    const c = JSON.parse(readFileSync(p, "utf8"));
    c.agents = { defaults: { model: { primary: "x/y" } } };
    writeFileSync(p, JSON.stringify(c));
    assert.deepEqual(checkIntegrity(l).incidents, []);
    c.plugins.entries["tropic-gate"].enabled = false;
    writeFileSync(p, JSON.stringify(c));
    assert.deepEqual(
      checkIntegrity(l).incidents.map((i) => `${i.kind} ${i.name}`),
      ["changed config/protected"],
    );
  });

  it("writes the seed's report files, private", () => {
    const r = runAudit({ config: { gateway: { auth: { mode: "none" } } } }, { now: new Date("2026-12-05T12:34:56.789Z") });
    const p1 = writeAuditReport(state, r, "provision");
    const p2 = writeAuditReport(state, r, "deploy");
    assert.equal(p1, join(state, ".secureclaw", "provision-audit.txt"));
    assert.equal(p2, join(state, ".secureclaw", "deploy-audit-2026-12-05T12-34-56-789Z.txt"));
    assert.match(readFileSync(p1, "utf8"), /gateway\.auth\.none/);
    assert.equal(statSync(p2).mode & 0o777, 0o600);
  });
});

describe("fact parsers", () => {
  it("reads procfs files, which report size 0", { skip: process.platform !== "linux" }, async () => {
    const { readText } = await import("../src/collect.ts");
    assert.match(readText("/proc/net/tcp") ?? "", /^\s*sl\s+local_address/);
    const s = await collect({ stateDir: join(tmpdir(), "no-such-state-dir-for-tropic"), home: tmpdir(), etc: join(tmpdir(), "no-etc") });
    assert.ok(Array.isArray(s.sockets));
  });
  it("reads LISTEN sockets from /proc/net/tcp and tcp6", () => {
    const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:8F2A 0100007F:4965 01 00000000:00000000 00:00000000 00000000  1000        0 3 1`;
    assert.deepEqual(parseProcNet(tcp, "tcp"), [
      { proto: "tcp", address: "127.0.0.1", port: 18789 },
      { proto: "tcp", address: "0.0.0.0", port: 22 },
    ]);
    const tcp6 = `  sl  local_address remote_address st
   0: 00000000000000000000000001000000:4965 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A`;
    assert.deepEqual(parseProcNet(tcp6, "tcp6"), [
      { proto: "tcp6", address: "::1", port: 18789 },
      { proto: "tcp6", address: "::", port: 80 },
    ]);
  });
  it("sshd: first value wins, drop-ins first when included, Match blocks ignored", () => {
    const d = parseSshd([
      "PasswordAuthentication no\n",
      "Include /etc/ssh/sshd_config.d/*.conf\n#PermitRootLogin yes\nPasswordAuthentication yes\nPermitRootLogin no\nMatch User x\n PermitRootLogin yes\n",
    ]);
    assert.equal(d.passwordauthentication, "no");
    assert.equal(d.permitrootlogin, "no");
  });
  it("reads OpenClaw's audit JSON even after a log line, and stop-word rules", () => {
    const j = parseOpenclawAudit(
      `[plugins] loaded\n{"ts":1,"summary":{"critical":1},"findings":[{"checkId":"gateway.bind_no_auth","severity":"critical","title":"t"}]}`,
    );
    assert.equal(j?.findings[0]?.checkId, "gateway.bind_no_auth");
    assert.equal(parseOpenclawAudit("not json"), undefined);
    assert.deepEqual(stopWordsBlocked('ALLOW exec\nDENY message containing "stop"\nDENY exec "rm -rf"'), ["stop"]);
  });
  it("parses JSON5 config", () => {
    assert.deepEqual(parseJson5("// c\n{a: 1, 'b': 'x\\'y', c: [1,2,], /* d */ d: {e: true,},}"), { a: 1, b: "x'y", c: [1, 2], d: { e: true } });
    assert.deepEqual(parseJson5('{"url": "http://x//y"}'), { url: "http://x//y" });
  });
});

describe("the offline CLI", () => {
  it("prints the same findings as text and as JSON, and reports integrity incidents", async () => {
    const { main } = await import("../src/cli.ts");
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-cli-"));
    try {
      const st = join(dir, ".openclaw");
      mkdirSync(join(st, "workspace"), { recursive: true });
      writeFileSync(join(st, "openclaw.json"), '{gateway: {bind: "lan", auth: {mode: "token", token: "short"}}}');
      writeFileSync(join(st, "workspace", "SOUL.md"), "key AKIAIOSFODNN7EXAMPLX\n");
      let text = "";
      let json = "";
      const common = ["--home", dir, "--state-dir", st, "--accept", "net.listen_beyond_loopback=the test machine's own services"];
      assert.equal(await main(["audit", ...common], (s) => (text += s)), 0);
      assert.equal(await main(["audit", "--json", ...common], (s) => (json += s)), 0);
      const r = JSON.parse(json) as { findings: { id: string; severity: string }[]; score: number };
      for (const id of ["gateway.bind.beyond_loopback", "gateway.auth.token_short", "secrets.identity_files"])
        assert.ok(
          r.findings.some((f) => f.id === id),
          id,
        );
      for (const f of r.findings) assert.ok(text.includes(`[${f.severity}] ${f.id}:`), `${f.id} in the text report`);
      assert.match(text, new RegExp(`Posture score: ${r.score}/100`));
      let out = "";
      assert.equal(await main(["baseline", "--home", dir, "--state-dir", st], (s) => (out += s)), 0);
      writeFileSync(join(st, "workspace", "SOUL.md"), "changed\n");
      out = "";
      assert.equal(await main(["integrity", "--home", dir, "--state-dir", st], (s) => (out += s)), 1);
      assert.match(out, /changed workspace\/SOUL\.md/);
      assert.equal(await main(["accept", "--home", dir, "--state-dir", st, "--reason", "mine"], () => {}), 0);
      assert.equal(await main(["integrity", "--home", dir, "--state-dir", st], () => {}), 0);
      assert.equal(await main(["nope"], () => {}), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a host without OpenClaw", () => {
  it("says not applicable for the gateway's checks instead of failing them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-empty-"));
    try {
      const s = await collect({ stateDir: join(dir, ".openclaw"), home: dir, etc: join(dir, "etc"), procNet: join(dir, "nonet") });
      assert.equal(s.gate, undefined);
      assert.equal(s.integrity, undefined);
      const r = runAudit(s);
      assert.deepEqual(r.findings, []);
      assert.ok(r.notApplicable > 50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Tropic's own layout (agent/src/commands.ts: setgid+sticky state directory, protected files 0640)", () => {
  it("is not a finding once accepted, and hardening keeps the group's access while removing others'", async () => {
    const { tropicAccepted } = await import("../src/engine.ts");
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-layout-"));
    try {
      const st = join(dir, ".openclaw");
      mkdirSync(join(st, "agents", "main", "sessions"), { recursive: true });
      writeFileSync(
        join(st, "openclaw.json"),
        JSON.stringify({ gateway: { bind: "loopback", auth: { mode: "token", token: "ab".repeat(32) } }, discovery: { mdns: { mode: "off" } } }),
      );
      writeFileSync(join(st, ".env"), "A=1\n");
      chmodSync(st, 0o3770);
      chmodSync(join(st, "openclaw.json"), 0o640);
      chmodSync(join(st, ".env"), 0o644); // one mistake: readable by every user
      chmodSync(join(st, "agents", "main", "sessions"), 0o2770);
      const opts = { stateDir: st, home: dir, etc: join(dir, "etc"), procNet: join(dir, "nonet") };
      const s = await collect(opts);
      const r = runAudit(s, { accepted: tropicAccepted(s) });
      const fileIds = r.findings.filter((f) => f.category === "files").map((f) => f.id);
      assert.deepEqual(fileIds, ["fs.env.readable"]);
      assert.ok(r.accepted.some((f) => f.id === "fs.state_dir.group_writable"));
      const res = harden(s, { config: false });
      assert.deepEqual(
        res.changes.map((c) => [c.target, c.from, c.to]),
        [[join(st, ".env"), "0644", "0640"]],
      );
      assert.equal(statSync(st).mode & 0o7777, 0o3770);
      assert.equal(statSync(join(st, "openclaw.json")).mode & 0o777, 0o640);
      assert.equal(statSync(join(st, "agents", "main", "sessions")).mode & 0o7777, 0o2770);
      const r2 = runAudit(await collect(opts), { accepted: tropicAccepted(s) });
      assert.deepEqual(
        r2.findings.filter((f) => f.category === "files"),
        [],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hostile files in the state directory", () => {
  it("a FIFO where .env, SOUL.md or openclaw.json should be never blocks the collector, hardening or integrity", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-fifo-"));
    try {
      const st = join(dir, ".openclaw");
      mkdirSync(join(st, "workspace"), { recursive: true });
      for (const p of [join(st, ".env"), join(st, "workspace", "SOUL.md"), join(st, "openclaw.json")])
        assert.equal(spawnSync("mkfifo", ["-m", "0666", p]).status, 0);
      const t0 = Date.now();
      const s = await collect({ stateDir: st, home: dir, etc: join(dir, "etc"), procNet: join(dir, "nonet") });
      assert.equal(s.identityFiles?.["SOUL.md"], undefined);
      assert.match(s.configError ?? "", /not a regular file/);
      const res = harden(s);
      assert.ok(
        res.errors.some((e) => e.includes(".env") && e.includes("not a regular file")),
        res.errors.join("; "),
      );
      recordBaseline({ stateDir: st, home: dir });
      checkIntegrity({ stateDir: st, home: dir });
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the seed's scripts (quick-audit.sh, emergency-response.sh)", () => {
  it("run offline on a state directory and print the same findings", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-scripts-"));
    try {
      const st = join(dir, ".openclaw");
      mkdirSync(join(st, "workspace"), { recursive: true });
      writeFileSync(join(st, "openclaw.json"), '{"gateway": {"bind": "lan", "auth": {"mode": "none"}}}');
      writeFileSync(join(st, "workspace", "SOUL.md"), "hello\n");
      const cli = `${process.execPath} --import tsx ${new URL("../src/cli.ts", import.meta.url).pathname}`;
      const env = { ...process.env, HOME: dir, OPENCLAW_STATE_DIR: st, TROPIC_HARDENING_CLI: cli };
      const scripts = new URL("../scripts/", import.meta.url).pathname;
      const q = spawnSync("bash", [join(scripts, "quick-audit.sh"), "--json"], { env, encoding: "utf8" });
      assert.equal(q.status, 0, q.stderr);
      const r = JSON.parse(q.stdout) as { findings: { id: string }[] };
      assert.ok(r.findings.some((f) => f.id === "gateway.auth.none"));
      assert.ok(r.findings.some((f) => f.id === "gateway.bind.beyond_loopback"));
      spawnSync("bash", ["-c", `${cli} baseline --state-dir ${st} --home ${dir}`], { env });
      writeFileSync(join(st, "workspace", "SOUL.md"), "changed\n");
      const e = spawnSync("bash", [join(scripts, "emergency-response.sh")], { env, encoding: "utf8" });
      assert.equal(e.status, 0, e.stderr);
      for (let i = 1; i <= 7; i++) assert.match(e.stdout, new RegExp(`\\[${i}/7\\]`));
      assert.match(e.stdout, /changed workspace\/SOUL\.md/);
      assert.match(e.stdout, /\[CRIT\] gateway\.auth\.none/);
      const ev = readEvents(st);
      assert.ok(ev.some((x) => x.type === "emergency" && typeof x.report === "string" && statSync(x.report as string).mode & 0o600));
      const bad = spawnSync("bash", [join(scripts, "quick-audit.sh")], { env: { ...env, TROPIC_HARDENING_CLI: "" }, encoding: "utf8" });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /TROPIC_HARDENING_CLI/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("OS facts from an /etc tree", () => {
  it("reads sshd with drop-ins, masked units and unattended upgrades", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tropic-hardening-etc-"));
    try {
      const etc = join(dir, "etc");
      mkdirSync(join(etc, "ssh", "sshd_config.d"), { recursive: true });
      mkdirSync(join(etc, "systemd", "system"), { recursive: true });
      mkdirSync(join(etc, "apt", "apt.conf.d"), { recursive: true });
      writeFileSync(join(etc, "ssh", "sshd_config"), "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nPermitRootLogin yes\n");
      writeFileSync(join(etc, "ssh", "sshd_config.d", "50-tropic.conf"), "PasswordAuthentication no\n");
      symlinkSync("/dev/null", join(etc, "systemd", "system", "avahi-daemon.service"));
      symlinkSync("/lib/systemd/system/udisks2.service", join(etc, "systemd", "system", "udisks2.service"));
      writeFileSync(join(etc, "apt", "apt.conf.d", "20auto-upgrades"), 'APT::Periodic::Unattended-Upgrade "1";\n');
      const s = await collect({
        stateDir: join(dir, ".openclaw"),
        home: dir,
        etc,
        procNet: join(dir, "nonet"),
        kind: "vm",
        expectUnattendedUpgrades: false,
      });
      assert.equal(s.sshd?.passwordauthentication, "no");
      assert.equal(s.sshd?.permitrootlogin, "yes");
      assert.equal(s.services?.["avahi-daemon.service"], "masked");
      assert.equal(s.services?.["udisks2.service"], "enabled");
      assert.equal(s.services?.["packagekit.service"], "absent");
      assert.deepEqual(s.unattendedUpgrades, { expected: false, enabled: true });
      const ids = runAudit(s).findings.map((f) => f.id);
      for (const id of ["os.ssh.root_login", "os.services.not_masked", "os.unattended_upgrades"]) assert.ok(ids.includes(id), id);
      assert.ok(!ids.includes("os.ssh.password_auth"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the seed's scripts carried in the agent bundle (src/scripts.ts)", () => {
  it("are the scripts in hardening/scripts/ (regenerate: node hardening/scripts/embed.mjs)", async () => {
    const { SEED_SCRIPTS } = await import("../src/scripts.ts");
    const dir = join(import.meta.dirname, "..", "scripts");
    for (const n of ["quick-audit.sh", "emergency-response.sh"]) assert.equal(SEED_SCRIPTS[n], readFileSync(join(dir, n), "utf8"), n);
  });
});
