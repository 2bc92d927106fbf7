// A clean snapshot (every fact gathered, every check passing) and a deep-merge helper to seed one
// misconfiguration at a time into it.
import type { FileFact, Snapshot } from "../src/types.ts";

export const TOKEN = "0123456789abcdef".repeat(4);

export const GOOD_CONFIG = {
  gateway: { mode: "local", bind: "loopback", port: 18789, auth: { mode: "token", token: TOKEN } },
  discovery: { mdns: { mode: "off" } },
  agents: {
    defaults: { sandbox: { mode: "non-main" }, workspace: "~/.openclaw/workspace" },
    entries: { main: { workspace: "~/.openclaw/workspace" } },
  },
  tools: { exec: { mode: "ask" }, fs: { workspaceOnly: true } },
  browser: { extensionRelay: { allowLegacyAuth: false } },
  channels: { whatsapp: { dmPolicy: "allowlist", allowFrom: ["+15551234567"] } },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference is the input under test
  models: { providers: { local: { baseUrl: "http://127.0.0.1:11434/v1", apiKey: "${LOCAL_KEY}" } } },
  plugins: {
    allow: ["tropic-gate", "whatsapp"],
    entries: { "tropic-gate": { enabled: true, config: { enabled: true, packs: { base: true, system: true } } }, whatsapp: { enabled: true } },
  },
};

const f = (path: string, mode: number, dir = false): FileFact => ({ path, mode, uid: 1000, gid: 1000, dir });

export function clean(): Snapshot {
  return {
    host: { platform: "linux", kind: "vm", uid: 1000 },
    stateDir: "/home/u/.openclaw",
    config: structuredClone(GOOD_CONFIG),
    files: {
      stateDir: f("/home/u/.openclaw", 0o700, true),
      config: f("/home/u/.openclaw/openclaw.json", 0o600),
      env: f("/home/u/.openclaw/.env", 0o600),
      credentialsDir: f("/home/u/.openclaw/credentials", 0o700, true),
      authProfiles: f("/home/u/.openclaw/agents/main/agent/auth-profiles.json", 0o600),
      sessionsDir: f("/home/u/.openclaw/agents/main/sessions", 0o700, true),
      logsDir: f("/home/u/.openclaw/logs", 0o700, true),
      secureclawDir: f("/home/u/.openclaw/.secureclaw", 0o700, true),
      sshDir: f("/home/u/.ssh", 0o700, true),
    },
    keyFiles: [f("/home/u/.ssh/id_ed25519", 0o600)],
    identityFiles: { "SOUL.md": "You are helpful. Never share the owner's personal data.\n", "AGENTS.md": "Be careful.\n" },
    memoryFiles: { "MEMORY.md": "The owner likes tea.\n" },
    shellHistory: { ".bash_history": "ls\ncd /tmp\n" },
    gatewayUid: 1001,
    protectedFiles: [{ path: "/home/u/.openclaw/openclaw.json", mode: 0o644, uid: 1002, gid: 1002 }],
    sockets: [
      { proto: "tcp", address: "127.0.0.1", port: 18789 },
      { proto: "tcp", address: "0.0.0.0", port: 22 },
    ],
    sshd: { passwordauthentication: "no", permitrootlogin: "no", permitemptypasswords: "no" },
    services: { "avahi-daemon.service": "masked" },
    expectMasked: ["avahi-daemon.service"],
    unattendedUpgrades: { expected: false, enabled: false },
    firewall: { active: true, detail: "nftables table inet tropic" },
    isolation: { kind: "vm" },
    installed: { skills: [{ id: "github", sha256: "a".repeat(64) }], plugins: [{ id: "tropic-gate", sha256: "b".repeat(64) }, { id: "whatsapp" }] },
    known: { skills: { github: ["a".repeat(64)] }, plugins: { "tropic-gate": ["b".repeat(64)], whatsapp: [] } },
    gate: { installed: true, expectedPacks: ["base", "system"], stopWordsBlocked: [], auditLog: f("/home/u/.openclaw/.sondera/audit.log", 0o600) },
    integrity: { baseline: true, incidents: [] },
    openclawAudit: { findings: [{ checkId: "summary.attack_surface", severity: "info", title: "summary" }] },
  };
}

type Patch = { [k: string]: unknown };
const isObj = (v: unknown): v is Patch => !!v && typeof v === "object" && !Array.isArray(v);

/** deep merge; `undefined` deletes a key */
export function merge<T>(base: T, patch: Patch): T {
  const out = structuredClone(base) as Patch;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else if (isObj(v) && isObj(out[k])) out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out as T;
}

export const withConfig = (patch: Patch): Snapshot => {
  const s = clean();
  s.config = merge(s.config!, patch);
  return s;
};
export const withSnap = (patch: Patch): Snapshot => merge(clean(), patch);
