// Every check: a snapshot that makes it fire and one that makes it pass (the clean snapshot, plus a
// second passing variant where the default matters), and "not applicable" when its facts are missing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHECKS } from "../src/checks.ts";
import type { Snapshot } from "../src/types.ts";
import { clean, TOKEN, withConfig, withSnap } from "./fixtures.ts";

const f = (path: string, mode: number, extra: object = {}) => ({ path, mode, uid: 1000, gid: 1000, ...extra });
const AWS_KEY = "AKIAIOSFODNN7EXAMPLX";

// id → snapshots that must make it fire (and optional extra passing snapshots)
const CASES: Record<string, { fire: Snapshot[]; pass?: Snapshot[] }> = {
  "gateway.bind.beyond_loopback": {
    fire: [
      withConfig({ gateway: { bind: "lan" } }),
      withConfig({ gateway: { bind: "custom", customBindHost: "10.0.0.5" } }),
      withConfig({ gateway: { bind: "tailnet" } }),
    ],
    pass: [withConfig({ gateway: { bind: undefined } }), withConfig({ gateway: { bind: "custom", customBindHost: "127.0.0.1" } })],
  },
  "gateway.bind.host_alias": { fire: [withConfig({ gateway: { bind: "0.0.0.0" } }), withConfig({ gateway: { bind: "127.0.0.1" } })] },
  "gateway.auth.none": { fire: [withConfig({ gateway: { auth: { mode: "none" } } })] },
  "gateway.auth.token_placeholder": {
    fire: [withConfig({ gateway: { auth: { token: "undefined" } } }), withConfig({ gateway: { auth: { token: "" } } })],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference is the input under test
    pass: [withConfig({ gateway: { auth: { token: "${OPENCLAW_GATEWAY_TOKEN}" } } })],
  },
  "gateway.auth.token_short": {
    fire: [withConfig({ gateway: { auth: { token: "abc123def456" } } })],
    pass: [withConfig({ gateway: { auth: { token: TOKEN.slice(0, 32) } } })],
  },
  "gateway.auth.password_short": {
    fire: [withConfig({ gateway: { auth: { mode: "password", password: "hunter2hunter2" } } })],
    pass: [withConfig({ gateway: { auth: { mode: "password", password: "x".repeat(30) } } })],
  },
  "gateway.auth.password_in_config": {
    fire: [withConfig({ gateway: { auth: { mode: "password", password: "x".repeat(30) } } })],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference is the input under test
    pass: [withConfig({ gateway: { auth: { mode: "password", password: "${OPENCLAW_GATEWAY_PASSWORD}" } } })],
  },
  "gateway.auth.trusted_proxy_unsafe": {
    fire: [withConfig({ gateway: { auth: { mode: "trusted-proxy" } } })],
    pass: [withConfig({ gateway: { trustedProxies: ["10.0.0.1"], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-user" } } } })],
  },
  "gateway.auth.rate_limit": {
    fire: [withConfig({ gateway: { bind: "lan" } })],
    pass: [withConfig({ gateway: { bind: "lan", auth: { rateLimit: { maxAttempts: 10 } } } })],
  },
  "gateway.tailscale.funnel": {
    fire: [withConfig({ gateway: { tailscale: { mode: "funnel" } } })],
    pass: [withConfig({ gateway: { tailscale: { mode: "serve" } } })],
  },
  "gateway.control_ui.origins_wildcard": {
    fire: [withConfig({ gateway: { controlUi: { allowedOrigins: ["*"] } } })],
    pass: [withConfig({ gateway: { controlUi: { allowedOrigins: ["https://i1.tropic.test"] } } })],
  },
  "gateway.control_ui.host_header_fallback": { fire: [withConfig({ gateway: { controlUi: { dangerouslyAllowHostHeaderOriginFallback: true } } })] },
  "gateway.real_ip_fallback": { fire: [withConfig({ gateway: { allowRealIpFallback: true } })] },
  "gateway.http.session_key_override": { fire: [withConfig({ gateway: { http: { allowSessionKeyOverride: true } } })] },
  "gateway.http.dangerous_tools": {
    fire: [withConfig({ gateway: { tools: { allow: ["web_search", "exec"] } } })],
    pass: [withConfig({ gateway: { tools: { allow: ["web_search"] } } })],
  },
  "gateway.hooks.token_reuse": { fire: [withConfig({ hooks: { token: TOKEN } })], pass: [withConfig({ hooks: { token: "f".repeat(64) } })] },
  "gateway.hooks.token_short": { fire: [withConfig({ hooks: { token: "short" } })] },
  "gateway.hooks.path_root": { fire: [withConfig({ hooks: { path: "/" } })], pass: [withConfig({ hooks: { path: "/hooks" } })] },
  "gateway.config.dangerous_flags": {
    fire: [withConfig({ browser: { ssrfPolicy: { dangerouslyAllowPrivateNetwork: true } } })],
    pass: [withConfig({ browser: { ssrfPolicy: { dangerouslyAllowPrivateNetwork: false } } })],
  },
  "gateway.discovery.mdns_on": { fire: [withConfig({ discovery: undefined }), withConfig({ discovery: { mdns: { mode: "minimal" } } })] },
  "gateway.discovery.mdns_full": {
    fire: [withConfig({ discovery: { mdns: { mode: "full" } } })],
    pass: [withConfig({ discovery: { mdns: { mode: "minimal" } } })],
  },
  "gateway.retired_keys": {
    fire: [
      withConfig({ gateway: { mdns: { enabled: false } } }),
      withConfig({ sandbox: { mode: "all" } }),
      withConfig({ exec: { approvals: true } }),
    ],
  },
  "tools.exec.mode_full": {
    fire: [
      withConfig({ tools: { exec: { mode: "full" } } }),
      withConfig({ tools: { exec: { mode: undefined, security: "full", ask: "off" } } }),
      withConfig({ tools: { exec: undefined } }),
    ],
    pass: [
      withConfig({ tools: { exec: { mode: undefined, host: "sandbox" } } }),
      withConfig({ tools: { exec: { mode: undefined, security: "allowlist", ask: "on-miss" } } }),
    ],
  },
  "tools.exec.agent_mode_full": { fire: [withConfig({ agents: { entries: { main: { tools: { exec: { mode: "full" } } } } } })] },
  "tools.elevated.wildcard": {
    fire: [withConfig({ tools: { elevated: { allowFrom: { whatsapp: ["*"] } } } })],
    pass: [withConfig({ tools: { elevated: { allowFrom: { whatsapp: ["+15551234567"] } } } })],
  },
  "tools.fs.workspace_only_off": {
    fire: [withConfig({ tools: { fs: { workspaceOnly: false } } }), withConfig({ tools: { fs: undefined } })],
  },
  "tools.exec.strict_inline_eval_off": { fire: [withConfig({ tools: { exec: { strictInlineEval: false } } })] },
  "sandbox.agent_mode_off": {
    fire: [withConfig({ agents: { defaults: { sandbox: { mode: "off" } } } }), withConfig({ agents: { defaults: { sandbox: undefined } } })],
  },
  "sandbox.dangerous_bind": {
    fire: [
      withConfig({ agents: { defaults: { sandbox: { docker: { binds: ["/var/run/docker.sock:/var/run/docker.sock"] } } } } }),
      withConfig({ agents: { entries: { main: { sandbox: { docker: { binds: ["/home/u/.ssh:/root/.ssh:ro"] } } } } } }),
    ],
    pass: [withConfig({ agents: { defaults: { sandbox: { docker: { binds: ["/srv/data:/data:ro"] } } } } })],
  },
  "sandbox.network_host": {
    fire: [withConfig({ agents: { defaults: { sandbox: { docker: { network: "host" } } } } })],
    pass: [withConfig({ agents: { defaults: { sandbox: { docker: { network: "none" } } } } })],
  },
  "sandbox.host_isolation": {
    fire: [withSnap({ isolation: { kind: "none", detail: "plain process" } })],
    pass: [withSnap({ isolation: { kind: "bubblewrap" } })],
  },
  "sandbox.gateway_root": { fire: [withSnap({ gatewayUid: 0 })] },
  "channels.dm_open": {
    fire: [
      withConfig({ channels: { whatsapp: { dmPolicy: "open", allowFrom: ["*"] } } }),
      withConfig({ channels: { telegram: { accounts: { bot: { dmPolicy: "open" } } } } }),
    ],
    pass: [withConfig({ channels: { whatsapp: { dmPolicy: "pairing" } } })],
  },
  "channels.allow_from_wildcard": { fire: [withConfig({ channels: { whatsapp: { allowFrom: ["*"] } } })] },
  "channels.group_open": {
    fire: [withConfig({ channels: { whatsapp: { groupPolicy: "open" } } })],
    pass: [withConfig({ channels: { whatsapp: { groupPolicy: "allowlist" } } })],
  },
  "channels.allowlist_empty": { fire: [withConfig({ channels: { whatsapp: { allowFrom: [] } } })] },
  "channels.name_matching": { fire: [withConfig({ channels: { discord: { dangerouslyAllowNameMatching: true } } })] },
  "browser.remote_cdp_http": {
    fire: [withConfig({ browser: { profiles: { work: { cdpUrl: "http://10.0.0.9:9222" } } } })],
    pass: [withConfig({ browser: { profiles: { work: { cdpUrl: "http://127.0.0.1:9222" } } } })],
  },
  "browser.relay_legacy_auth": {
    fire: [withConfig({ browser: { extensionRelay: { allowLegacyAuth: true } } }), withConfig({ browser: undefined })],
    pass: [withConfig({ browser: { enabled: false } })],
  },
  "fs.state_dir.world_writable": {
    fire: [withSnap({ files: { stateDir: f("/s", 0o777, { dir: true }) } })],
    pass: [withSnap({ files: { stateDir: null } })],
  },
  "fs.state_dir.group_writable": {
    fire: [withSnap({ files: { stateDir: f("/s", 0o3770, { dir: true }) } })],
    pass: [withSnap({ files: { stateDir: f("/s", 0o750, { dir: true }) } })],
  },
  "fs.state_dir.readable": { fire: [withSnap({ files: { stateDir: f("/s", 0o755, { dir: true }) } })] },
  "fs.state_dir.symlink": { fire: [withSnap({ files: { stateDir: f("/s", 0o777, { symlink: true }) } })] },
  "fs.config.writable": {
    fire: [withSnap({ files: { config: f("/s/openclaw.json", 0o666) } })],
    pass: [withSnap({ files: { config: f("/s/openclaw.json", 0o640) } })],
  },
  "fs.config.readable": {
    fire: [withSnap({ files: { config: f("/s/openclaw.json", 0o644) } })],
    pass: [withSnap({ files: { config: f("/s/openclaw.json", 0o640) } })],
  },
  "fs.env.readable": {
    fire: [withSnap({ files: { env: f("/s/.env", 0o644) } }), withSnap({ files: { env: f("/s/.env", 0o604) } })],
    pass: [withSnap({ files: { env: null } }), withSnap({ files: { env: f("/s/.env", 0o640) } })],
  },
  "fs.credentials_dir.perms": { fire: [withSnap({ files: { credentialsDir: f("/s/credentials", 0o755, { dir: true }) } })] },
  "fs.auth_profiles.perms": { fire: [withSnap({ files: { authProfiles: f("/s/agents/main/agent/auth-profiles.json", 0o644) } })] },
  "fs.sessions.perms": { fire: [withSnap({ files: { sessionsDir: f("/s/agents/main/sessions", 0o755, { dir: true }) } })] },
  "fs.logs.perms": { fire: [withSnap({ files: { logsDir: f("/s/logs", 0o755, { dir: true }) } })] },
  "fs.secureclaw.perms": { fire: [withSnap({ files: { secureclawDir: f("/s/.secureclaw", 0o777, { dir: true }) } })] },
  "fs.keys.perms": { fire: [withSnap({ keyFiles: [f("/home/u/.ssh/id_rsa", 0o644)] })], pass: [withSnap({ keyFiles: [] })] },
  "fs.ssh_dir.perms": {
    fire: [withSnap({ files: { sshDir: f("/home/u/.ssh", 0o775, { dir: true }) } })],
    pass: [withSnap({ files: { sshDir: f("/home/u/.ssh", 0o755, { dir: true }) } })],
  },
  "fs.owner_mismatch": {
    fire: [withSnap({ files: { env: { path: "/s/.env", mode: 0o600, uid: 4242, gid: 4242 } } })],
    // Tropic's layout: written by the agent user (another uid) into the instance's group
    pass: [withSnap({ files: { env: { path: "/s/.env", mode: 0o640, uid: 4242, gid: 1000 } } })],
  },
  "secrets.identity_files": {
    fire: [
      withSnap({ identityFiles: { "SOUL.md": `You are helpful.\nMy AWS key is ${AWS_KEY}\n` } }),
      withSnap({ identityFiles: { "USER.md": "openai: sk-proj-abcdefghijklmnopqrstuvwxyz012345\n" } }),
    ],
    pass: [withSnap({ identityFiles: { "SOUL.md": "Keys look like AKIA followed by 16 characters; never paste one here.\n" } })],
  },
  "secrets.memory_files": { fire: [withSnap({ memoryFiles: { "MEMORY.md": "GitHub token ghp_abcdefghijklmnopqrstuvwxyz0123456789\n" } })] },
  "secrets.shell_history": { fire: [withSnap({ shellHistory: { ".bash_history": "export STRIPE_SECRET=sk_live_abcdefghijklmnop1234\n" } })] },
  "secrets.config_literals": {
    fire: [
      withConfig({ models: { providers: { openai: { apiKey: "sk-abcdefghijklmnopqrstuvwxyz" } } } }),
      withConfig({ skills: { entries: { brave: { apiKey: "BSAabcdefghijklmnop123" } } } }),
    ],
  },
  "secrets.model_plaintext_transport": {
    fire: [withConfig({ models: { providers: { remote: { baseUrl: "http://models.example.com/v1" } } } })],
    pass: [withConfig({ models: { providers: { remote: { baseUrl: "https://models.example.com/v1" } } } })],
  },
  "net.gateway_port_exposed": {
    fire: [
      withSnap({ sockets: [{ proto: "tcp", address: "0.0.0.0", port: 18789 }] }),
      withSnap({ sockets: [{ proto: "tcp6", address: "::", port: 18789 }] }),
    ],
  },
  "net.listen_beyond_loopback": {
    fire: [
      withSnap({ sockets: [{ proto: "tcp", address: "0.0.0.0", port: 5432 }] }),
      withSnap({ host: { kind: "byo" }, sockets: [{ proto: "tcp", address: "0.0.0.0", port: 22 }] }),
    ],
  },
  "net.firewall_inactive": { fire: [withSnap({ firewall: { active: false } })] },
  "os.ssh.password_auth": {
    fire: [withSnap({ sshd: { passwordauthentication: "yes" } }), withSnap({ sshd: { passwordauthentication: undefined } })],
  },
  "os.ssh.root_login": {
    fire: [withSnap({ sshd: { permitrootlogin: "yes" } })],
    pass: [withSnap({ sshd: { permitrootlogin: "prohibit-password" } })],
  },
  "os.ssh.empty_passwords": { fire: [withSnap({ sshd: { permitemptypasswords: "yes" } })] },
  "os.services.not_masked": {
    fire: [withSnap({ services: { "avahi-daemon.service": "enabled" } }), withSnap({ services: { "avahi-daemon.service": undefined } })],
  },
  "os.unattended_upgrades": {
    fire: [withSnap({ unattendedUpgrades: { expected: false, enabled: true } })],
    pass: [withSnap({ unattendedUpgrades: { expected: true, enabled: true } })],
  },
  "supply.plugin_unknown": { fire: [withSnap({ installed: { plugins: [{ id: "tropic-gate" }, { id: "evil-helper" }] } })] },
  "supply.plugin_hash": { fire: [withSnap({ installed: { plugins: [{ id: "tropic-gate", sha256: "c".repeat(64) }] } })] },
  "supply.skill_unknown": { fire: [withSnap({ installed: { skills: [{ id: "crypto-wallet-drainer", sha256: "d".repeat(64) }] } })] },
  "supply.skill_hash": { fire: [withSnap({ installed: { skills: [{ id: "github", sha256: "e".repeat(64) }] } })] },
  "supply.plugins_no_allowlist": {
    fire: [withConfig({ plugins: { allow: undefined } })],
    pass: [withConfig({ plugins: { allow: undefined, entries: undefined } })],
  },
  "gate.installed": { fire: [withSnap({ gate: { installed: false } })] },
  "gate.enabled": {
    fire: [
      withConfig({ plugins: { entries: { "tropic-gate": { enabled: false } } } }),
      withConfig({ plugins: { entries: { "tropic-gate": { config: { enabled: false } } } } }),
      withConfig({ plugins: { entries: { "tropic-gate": undefined } } }),
      withConfig({ plugins: { allow: ["whatsapp"] } }),
    ],
  },
  "gate.packs": {
    fire: [
      withSnap({ gate: { expectedPacks: ["base", "system", "owasp"] } }),
      withConfig({ plugins: { entries: { "tropic-gate": { config: { packs: { base: false, system: true } } } } } }),
    ],
  },
  "gate.protected_writable": {
    pass: [withSnap({ gatewayGid: 1001, protectedFiles: [{ path: "/s/openclaw.json", mode: 0o640, uid: 1002, gid: 1001 }] })],
    fire: [
      withSnap({ gatewayGid: 1001, protectedFiles: [{ path: "/s/openclaw.json", mode: 0o660, uid: 1002, gid: 1001 }] }),
      withSnap({ protectedFiles: [{ path: "/s/openclaw.json", mode: 0o644, uid: 1001, gid: 1001 }] }),
      withSnap({ protectedFiles: [{ path: "/g", mode: 0o666, uid: 1002, gid: 1002 }] }),
    ],
  },
  "gate.audit_log": { fire: [withSnap({ gate: { auditLog: null } })] },
  "gate.kill_switch": { fire: [withSnap({ gate: { stopWordsBlocked: ["stop"] } })] },
  "integrity.changed": { fire: [withSnap({ integrity: { incidents: [{ kind: "changed", name: "workspace/SOUL.md", path: "/w/SOUL.md" }] } })] },
  "integrity.no_baseline": { fire: [withSnap({ integrity: { baseline: false } })] },
  "config.unreadable": { fire: [withSnap({ config: undefined, configError: "openclaw.json: Unexpected token" })] },
  "config.logging_redaction": {
    fire: [withConfig({ logging: { redactPatterns: [] } }), withConfig({ logging: { redactSensitive: "off" } })],
    pass: [withConfig({ logging: { redactPatterns: ["sk-.*"] } })],
  },
  "privacy.directives": { fire: [withSnap({ identityFiles: { "SOUL.md": "You are helpful.\n", "AGENTS.md": "Be careful.\n" } })] },
};

describe("every check fires and passes", () => {
  it("has a case for every check (and none for a check that does not exist)", () => {
    const ids = CHECKS.map((c) => c.id);
    assert.ok(ids.length >= 56, `${ids.length} checks`);
    assert.equal(new Set(ids).size, ids.length, "ids are unique");
    assert.deepEqual(
      ids.filter((i) => !CASES[i]),
      [],
      "checks without a case",
    );
    assert.deepEqual(
      Object.keys(CASES).filter((i) => !ids.includes(i)),
      [],
      "cases without a check",
    );
  });
  for (const ch of CHECKS) {
    it(`${ch.id} (${ch.severity})`, () => {
      const cs = CASES[ch.id];
      assert.ok(cs, "no case");
      assert.ok(ch.frameworks.length >= 3 && ch.remediation.length > 20 && ch.title, "frameworks, remediation and title");
      cs.fire.forEach((s, i) => {
        const r = ch.run(s);
        assert.ok(r && !r.pass, `fire[${i}] should fail, got ${JSON.stringify(r)}`);
        assert.ok(r.evidence.length > 0, "evidence");
      });
      for (const [i, s] of [clean(), ...(cs.pass ?? [])].entries()) {
        const r = ch.run(s);
        assert.ok(r?.pass, `pass[${i}] should pass, got ${JSON.stringify(r)}`);
      }
      // missing facts: not applicable, never a pass
      assert.equal(ch.run({}), null, "an empty snapshot is not applicable");
    });
  }
  it("does not count a secret's text as evidence", () => {
    const ch = CHECKS.find((c) => c.id === "secrets.identity_files")!;
    const r = ch.run(withSnap({ identityFiles: { "SOUL.md": `key ${AWS_KEY}` } }));
    assert.ok(r && !r.pass);
    assert.ok(!r.evidence.includes(AWS_KEY), r.evidence);
    assert.match(r.evidence, /SOUL\.md:1 \(aws-access-key\)/);
  });
});
