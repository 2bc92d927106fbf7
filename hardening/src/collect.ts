// Gathers a Snapshot on the host: plain Node, no root assumed, every fact optional (a fact that cannot
// be read is left out, so its checks say "not applicable"). Files are read with lstat and size limits:
// everything under the state directory is the tenant's and may be hostile (symlinks, huge files).
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { get } from "./checks.ts";
import { checkIntegrity, GATE_PLUGIN_ID, gateDirOf, IDENTITY_FILES, readConfig, secureclawDir, treeHash, workspacesOf } from "./integrity.ts";
import { readTail } from "./safefs.ts";
import type { FileFact, FileRole, InstalledItem, OpenclawFinding, Snapshot, Socket } from "./types.ts";

export interface CollectOptions {
  stateDir?: string;
  home?: string;
  kind?: "local" | "byo" | "vm";
  /** the gateway's uid and gid (default: the state directory's owner and group) */
  gatewayUid?: number;
  gatewayGid?: number;
  /** /etc (tests point it at a fixture) */
  etc?: string;
  /** read the OS's facts (sshd, masked units, unattended upgrades; default true): false where the
   * machine is not the instance's (a local instance shares the control plane's machine) */
  os?: boolean;
  /** /proc/net (tests point it at a fixture); only read on Linux */
  procNet?: string;
  /** a marketplace skills folder to hash as the known set */
  marketplaceSkills?: string;
  /** extra known plugin ids → allowed hashes (bundled OpenClaw plugins, Tropic's gate bundle) */
  knownPlugins?: Record<string, string[]>;
  /** extra known skill ids → allowed hashes (empty: known, not pinned; e.g. the skills Tropic installed) */
  knownSkills?: Record<string, string[]>;
  gateDir?: string;
  expectedPacks?: string[];
  expectMasked?: string[];
  expectUnattendedUpgrades?: boolean;
  firewall?: { active: boolean; detail?: string };
  isolation?: Snapshot["isolation"];
  /** run `<openclawBin> [...openclawArgs] security audit --json` (bounded by timeoutMs); e.g. the
   * runtime's Node 24 with openclaw.mjs as its argument */
  openclawBin?: string;
  openclawArgs?: string[];
  openclawTimeoutMs?: number;
  /** or its output, already captured */
  openclawAuditJson?: string;
  /** compare against the integrity baseline (no incident is logged when false) */
  integrity?: boolean;
}

/** The seed's disabled services (deploy/image/provision.sh step 9). */
export const VM_MASKED_UNITS = [
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "apt-daily.service",
  "apt-daily-upgrade.service",
  "unattended-upgrades.service",
  "multipathd.service",
  "multipathd.socket",
  "rtkit-daemon.service",
  "packagekit.service",
  "packagekit-offline-update.service",
  "udisks2.service",
  "avahi-daemon.service",
  "avahi-daemon.socket",
];

const MAX_TEXT = 1 << 20;

export function fileFact(path: string): FileFact | null | undefined {
  try {
    const st = lstatSync(path);
    return { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, dir: st.isDirectory(), symlink: st.isSymbolicLink() };
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? null : undefined;
  }
}

/** Reads a regular file (never through a symlink, never blocking on a FIFO), at most `max` bytes from its end. */
export function readText(path: string, max = MAX_TEXT): string | undefined {
  return readTail(path, max);
}

const listDir = (d: string): string[] => {
  try {
    return lstatSync(d).isDirectory() ? readdirSync(d).sort() : [];
  } catch {
    return [];
  }
};

/** /proc/net/tcp{,6}: sockets in LISTEN (state 0A). */
export function parseProcNet(text: string, proto: "tcp" | "tcp6"): Socket[] {
  const out: Socket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== "0A") continue;
    const [hex, portHex] = f[1]!.split(":");
    if (!hex || !portHex) continue;
    const port = Number.parseInt(portHex, 16);
    let address: string;
    if (hex.length === 8) address = [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
    else {
      // four little-endian 32-bit words
      const bytes: number[] = [];
      for (let w = 0; w < 4; w++) for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(hex.slice(w * 8 + b * 2, w * 8 + b * 2 + 2), 16));
      if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) address = `::ffff:${bytes.slice(12).join(".")}`;
      else if (bytes.every((x, i) => (i < 15 ? x === 0 : x === 1))) address = "::1";
      else if (bytes.every((x) => x === 0)) address = "::";
      else {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
        address = groups.join(":");
      }
    }
    out.push({ proto, address, port });
  }
  return out;
}

/** sshd_config and its drop-ins: the first value of each keyword wins (sshd's rule). */
export function parseSshd(texts: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of texts)
    for (const raw of t.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      if (/^match\s/i.test(line)) break;
      const m = /^(\S+)\s+(.+)$/.exec(line);
      if (m && !(m[1]!.toLowerCase() in out)) out[m[1]!.toLowerCase()] = m[2]!.trim().toLowerCase();
    }
  return out;
}

function runOpenclawAudit(bin: string, pre: string[], stateDir: string, timeoutMs: number): Promise<{ findings: OpenclawFinding[]; error?: string }> {
  return new Promise((resolve) => {
    execFile(
      bin,
      [...pre, "security", "audit", "--json"],
      { timeout: timeoutMs, maxBuffer: 8 << 20, env: { ...process.env, OPENCLAW_STATE_DIR: stateDir } },
      (err, stdout) => {
        const parsed = parseOpenclawAudit(stdout);
        if (parsed) resolve(parsed);
        else resolve({ findings: [], error: `openclaw security audit failed: ${err ? err.message.split("\n")[0] : "no JSON"}` });
      },
    );
  });
}

export function parseOpenclawAudit(text: string | undefined): { findings: OpenclawFinding[] } | undefined {
  if (!text) return undefined;
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  try {
    const j = JSON.parse(text.slice(start)) as { findings?: unknown };
    if (!Array.isArray(j.findings)) return undefined;
    return {
      findings: j.findings
        .filter((f): f is Record<string, unknown> => !!f && typeof f === "object")
        .map((f) => ({
          checkId: String(f.checkId),
          severity: String(f.severity),
          title: String(f.title ?? f.checkId),
          detail: f.detail === undefined ? undefined : String(f.detail),
          remediation: f.remediation === undefined ? undefined : String(f.remediation),
        })),
    };
  } catch {
    return undefined;
  }
}

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export async function collect(o: CollectOptions = {}): Promise<Snapshot> {
  const home = o.home ?? homedir();
  const stateDir = o.stateDir ?? process.env.OPENCLAW_STATE_DIR ?? join(home, ".openclaw");
  const etc = o.etc ?? "/etc";
  const s: Snapshot = { host: { platform: process.platform, kind: o.kind, uid: process.getuid?.() }, stateDir };
  const layout = { stateDir, home, gateDir: o.gateDir };

  // config
  const cfg = readConfig(stateDir);
  if (cfg.config) s.config = cfg.config;
  if (cfg.error) s.configError = cfg.error;

  // file modes
  const agentDirs = listDir(join(stateDir, "agents")).map((a) => join(stateDir, "agents", a));
  const firstExisting = (ps: string[]) => ps.map(fileFact).find((f) => f) ?? (ps.length ? fileFact(ps[0]!) : null);
  const roles: Partial<Record<FileRole, FileFact | null | undefined>> = {
    stateDir: fileFact(stateDir),
    config: fileFact(cfg.path),
    env: fileFact(join(stateDir, ".env")),
    credentialsDir: fileFact(join(stateDir, "credentials")),
    authProfiles: firstExisting(agentDirs.map((d) => join(d, "agent", "auth-profiles.json"))),
    sessionsDir: firstExisting(agentDirs.map((d) => join(d, "sessions"))),
    logsDir: fileFact(join(stateDir, "logs")),
    secureclawDir: fileFact(secureclawDir(stateDir)),
    sonderaDir: fileFact(join(stateDir, ".sondera")),
    sshDir: fileFact(join(home, ".ssh")),
  };
  s.files = {};
  for (const [k, v] of Object.entries(roles)) if (v !== undefined) s.files[k as FileRole] = v;

  // private keys: ~/.ssh and the state directory's top two levels
  const keyFiles: FileFact[] = [];
  for (const d of [join(home, ".ssh"), stateDir, join(stateDir, "credentials"), join(stateDir, "keys")])
    for (const n of listDir(d)) {
      const p = join(d, n);
      const f = fileFact(p);
      if (!f || f.dir || f.symlink) continue;
      if (/\.pub$|known_hosts|authorized_keys|\.json$|\.md$|\.log$/.test(n)) continue;
      const head = readText(p, 4096);
      if (head && PRIVATE_KEY.test(head)) keyFiles.push(f);
    }
  s.keyFiles = keyFiles;

  // identity and memory files of every workspace
  const ws = workspacesOf(s.config, layout);
  s.identityFiles = {};
  s.memoryFiles = {};
  for (const w of ws) {
    for (const f of [...IDENTITY_FILES, "BOOT.md", "BOOTSTRAP.md"]) {
      const t = readText(join(w, f));
      if (t !== undefined) s.identityFiles[ws.length > 1 ? join(w, f) : f] = t;
    }
    const mem = readText(join(w, "MEMORY.md"));
    if (mem !== undefined) s.memoryFiles[ws.length > 1 ? join(w, "MEMORY.md") : "MEMORY.md"] = mem;
    for (const n of listDir(join(w, "memory")).slice(0, 200)) {
      if (!n.endsWith(".md")) continue;
      const t = readText(join(w, "memory", n));
      if (t !== undefined) s.memoryFiles[`memory/${n}`] = t;
    }
  }
  s.shellHistory = {};
  for (const n of [".bash_history", ".zsh_history", ".sh_history", ".python_history", ".node_repl_history"]) {
    const t = readText(join(home, n));
    if (t !== undefined) s.shellHistory[n] = t;
  }

  // who runs the gateway, and what it must not be able to write
  const stateOwner = s.files.stateDir?.uid;
  s.gatewayUid = o.gatewayUid ?? stateOwner;
  // Tropic's layout: the state directory's group is the gateway's (setgid keeps it)
  const gid = o.gatewayGid ?? s.files.stateDir?.gid;
  if (gid !== undefined) s.gatewayGid = gid;
  const gateDir = gateDirOf(s.config, layout);
  const prot: FileFact[] = [];
  const cf = s.files.config;
  if (cf) prot.push(cf);
  if (gateDir) {
    const g = fileFact(gateDir);
    if (g) prot.push(g);
    for (const n of listDir(gateDir)) {
      const f = fileFact(join(gateDir, n));
      if (f && !f.symlink) prot.push(f);
    }
  }
  s.protectedFiles = prot;

  // network (Linux only)
  if (process.platform === "linux" || o.procNet) {
    const pn = o.procNet ?? "/proc/net";
    const socks: Socket[] = [];
    let any = false;
    for (const proto of ["tcp", "tcp6"] as const) {
      const t = readText(join(pn, proto), 8 << 20);
      if (t !== undefined) {
        any = true;
        socks.push(...parseProcNet(t, proto));
      }
    }
    if (any) s.sockets = socks;
  }

  // sshd (only where sshd is installed)
  const sshdMain = o.os === false ? undefined : readText(join(etc, "ssh", "sshd_config"));
  if (sshdMain !== undefined) {
    const drop = listDir(join(etc, "ssh", "sshd_config.d"))
      .filter((n) => n.endsWith(".conf"))
      .map((n) => readText(join(etc, "ssh", "sshd_config.d", n)) ?? "");
    // Debian's sshd_config includes the drop-ins first
    s.sshd = parseSshd(/^\s*Include\s+\/etc\/ssh\/sshd_config\.d/m.test(sshdMain) ? [...drop, sshdMain] : [sshdMain, ...drop]);
  }

  // masked units (VMs: the image's table)
  const expectMasked = o.expectMasked ?? (o.kind === "vm" ? VM_MASKED_UNITS : undefined);
  if (expectMasked && o.os !== false && existsSync(join(etc, "systemd", "system"))) {
    s.expectMasked = expectMasked;
    s.services = {};
    for (const u of expectMasked) {
      const p = join(etc, "systemd", "system", u);
      const f = fileFact(p);
      let state = "absent";
      if (f?.symlink) {
        try {
          state = readlinkSync(p) === "/dev/null" ? "masked" : "enabled";
        } catch {
          state = "enabled";
        }
      } else if (f) state = "unit-file";
      s.services[u] = state;
    }
  }
  if (o.expectUnattendedUpgrades !== undefined && o.os !== false) {
    const t = readText(join(etc, "apt", "apt.conf.d", "20auto-upgrades")) ?? "";
    const masked = s.services?.["unattended-upgrades.service"] === "masked";
    s.unattendedUpgrades = { expected: o.expectUnattendedUpgrades, enabled: !masked && /Unattended-Upgrade\s+"1"/.test(t) };
  }
  if (o.firewall) s.firewall = o.firewall;
  if (o.isolation) s.isolation = o.isolation;

  // supply chain: installed skills and plugins against what is known
  const skills: InstalledItem[] = [];
  for (const root of [join(stateDir, "skills"), ...ws.map((w) => join(w, "skills"))])
    for (const n of listDir(root)) {
      const p = join(root, n);
      if (fileFact(p)?.dir && existsSync(join(p, "SKILL.md"))) skills.push({ id: n, path: p, sha256: treeHash(p) });
    }
  const plugins: InstalledItem[] = [];
  const entries = get(s.config, "plugins.entries");
  if (entries && typeof entries === "object")
    for (const id of Object.keys(entries))
      plugins.push({ id, ...(id === GATE_PLUGIN_ID && gateDir ? { path: gateDir, sha256: treeHash(gateDir) } : {}) });
  s.installed = { skills, plugins };
  const knownSkills: Record<string, string[]> = { ...(o.knownSkills ?? {}) };
  if (o.marketplaceSkills) for (const n of listDir(o.marketplaceSkills)) knownSkills[n] = [treeHash(join(o.marketplaceSkills, n))];
  if (o.marketplaceSkills || o.knownPlugins || o.knownSkills)
    s.known = { skills: knownSkills, plugins: { [GATE_PLUGIN_ID]: [], ...(o.knownPlugins ?? {}) } };

  // the gate (only where OpenClaw is set up: without a config there is no gateway to check)
  const sondera = join(stateDir, ".sondera", "audit.log");
  if (s.config) s.gate = { installed: !!gateDir && existsSync(join(gateDir, "openclaw.plugin.json")), auditLog: fileFact(sondera) ?? null };
  if (s.gate && o.expectedPacks) s.gate.expectedPacks = o.expectedPacks;
  const policies = get(s.config, `plugins.entries.${GATE_PLUGIN_ID}.config.policies`);
  if (s.gate)
    s.gate.stopWordsBlocked = policies && typeof policies === "object" ? stopWordsBlocked(Object.values(policies).map(String).join("\n")) : [];

  // OpenClaw's own audit
  if (o.openclawAuditJson !== undefined)
    s.openclawAudit = parseOpenclawAudit(o.openclawAuditJson) ?? { findings: [], error: "unreadable openclaw audit output" };
  else if (o.openclawBin) s.openclawAudit = await runOpenclawAudit(o.openclawBin, o.openclawArgs ?? [], stateDir, o.openclawTimeoutMs ?? 60_000);

  if (o.integrity !== false && s.files.stateDir) s.integrity = checkIntegrity(layout);
  return s;
}

/** Stop words a DENY rule names (policy text lines such as `DENY message containing "stop"`). */
export function stopWordsBlocked(policyText: string): string[] {
  const out = new Set<string>();
  for (const line of policyText.split("\n")) {
    if (!/^\s*DENY\b/i.test(line)) continue;
    for (const w of ["stop", "abort", "halt", "interrupt", "exit"]) if (new RegExp(`["'\\s]${w}["'\\s*]`, "i").test(` ${line} `)) out.add(w);
  }
  return [...out];
}
