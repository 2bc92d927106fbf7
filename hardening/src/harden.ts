// Hardening at provisioning: changes only what is safe to change without cutting anyone off, and says
// what it changed. File modes (never through a symlink: each file is opened O_NOFOLLOW and fchmod-ed),
// gateway auth "none" → "token" (a token is generated only when there is none: rotating a short token is
// the control plane's key rotation, since clients must learn it), mDNS discovery off, open DM policies →
// "pairing", and a retired/empty log-redaction override removed (OpenClaw 2026.9.6 always redacts; only
// an empty logging.redactPatterns weakens it). The bind, exec mode, sandbox and plugins are reported by
// the audit, not changed: each can break a deliberate setup.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { get } from "./checks.ts";
import { secureclawDir } from "./integrity.ts";
import { parseJson5 } from "./json5.ts";
import type { FileFact, FileRole, Snapshot } from "./types.ts";

export interface Change {
  kind: "mode" | "config";
  target: string;
  from: string;
  to: string;
  /** the gateway must restart (or hot-reload) for it to take effect */
  restart?: boolean;
}
export interface HardenResult {
  changes: Change[];
  errors: string[];
}

/** Bits removed per role. Everywhere: every bit for other users. Outside Tropic's layout also the
 * group's bits on secrets and the group's write elsewhere; in Tropic's layout (a setgid state directory
 * whose group is the instance's own agent and gateway users, agent/src/commands.ts) the group keeps what
 * that layout gives it, or the gateway could no longer read its config or write its sessions. */
function stripFor(role: FileRole, tropicLayout: boolean, dir: boolean): number {
  if (role === "sshDir") return 0o027;
  if (tropicLayout) return dir ? 0o007 : 0o027;
  return ["env", "credentialsDir", "authProfiles", "secureclawDir", "stateDir", "config"].includes(role) ? 0o077 : 0o027;
}
const ROLES: FileRole[] = ["stateDir", "config", "env", "credentialsDir", "authProfiles", "sessionsDir", "logsDir", "secureclawDir", "sshDir"];

const oct = (m: number) => `0${m.toString(8).padStart(3, "0")}`;

function chmodNoFollow(f: FileFact, strip: number, out: HardenResult) {
  if (f.symlink) {
    out.errors.push(`${f.path}: a symlink, left alone`);
    return;
  }
  let fd: number | undefined;
  try {
    fd = openSync(f.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (f.dir ? constants.O_DIRECTORY : 0));
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isDirectory()) {
      out.errors.push(`${f.path}: not a regular file or directory, left alone`);
      return;
    }
    const mode = st.mode & 0o7777;
    const to = mode & ~strip;
    if (to !== mode) {
      fchmodSync(fd, to);
      out.changes.push({ kind: "mode", target: f.path, from: oct(mode), to: oct(to) });
    }
  } catch (e) {
    out.errors.push(`${f.path}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface HardenOptions {
  /** also rewrite openclaw.json (default true); modes are always fixed */
  config?: boolean;
  now?: Date;
}

export function harden(s: Snapshot, o: HardenOptions = {}): HardenResult {
  const out: HardenResult = { changes: [], errors: [] };
  const st = s.files?.stateDir;
  const tropicLayout = !!st && !st.symlink && (st.mode & 0o2000) !== 0;
  for (const role of ROLES) {
    const f = s.files?.[role];
    if (f) chmodNoFollow(f, stripFor(role, tropicLayout, !!f.dir), out);
  }
  for (const k of s.keyFiles ?? []) chmodNoFollow(k, 0o077, out);
  if (o.config !== false && s.stateDir && s.config) hardenConfig(s.stateDir, out, o.now ?? new Date(), tropicLayout);
  return out;
}

function hardenConfig(stateDir: string, out: HardenResult, now: Date, tropicLayout: boolean) {
  const path = join(stateDir, "openclaw.json");
  let fd: number;
  let text: string;
  let mode: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new Error("not a regular file");
      mode = st.mode & 0o777;
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    out.errors.push(`${path}: ${(e as Error).message}`);
    return;
  }
  let c: Record<string, unknown>;
  try {
    c = parseJson5(text) as Record<string, unknown>;
  } catch (e) {
    out.errors.push(`${path}: not changed, it does not parse (${(e as Error).message})`);
    return;
  }
  const changes: Change[] = [];
  const obj = (parent: Record<string, unknown>, k: string): Record<string, unknown> => {
    const v = parent[k];
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    const n: Record<string, unknown> = {};
    parent[k] = n;
    return n;
  };

  const auth = get(c, "gateway.auth");
  if (auth && typeof auth === "object" && (auth as Record<string, unknown>).mode === "none") {
    const a = auth as Record<string, unknown>;
    a.mode = "token";
    changes.push({ kind: "config", target: "gateway.auth.mode", from: "none", to: "token", restart: true });
    if (typeof a.token !== "string" || !a.token) {
      a.token = randomBytes(32).toString("hex");
      changes.push({ kind: "config", target: "gateway.auth.token", from: "(none)", to: "(generated, 64 hex characters)", restart: true });
    }
  }
  const mdns = get(c, "discovery.mdns.mode");
  if (mdns !== "off") {
    obj(obj(c, "discovery"), "mdns").mode = "off";
    changes.push({ kind: "config", target: "discovery.mdns.mode", from: String(mdns ?? "minimal (default)"), to: "off", restart: true });
  }
  const chs = get(c, "channels");
  if (chs && typeof chs === "object") {
    for (const [p, ch] of Object.entries(chs as Record<string, unknown>)) {
      const scopes: [string, Record<string, unknown>][] = [];
      if (ch && typeof ch === "object") {
        scopes.push([`channels.${p}`, ch as Record<string, unknown>]);
        const acc = (ch as Record<string, unknown>).accounts;
        if (acc && typeof acc === "object")
          for (const [a, v] of Object.entries(acc))
            if (v && typeof v === "object") scopes.push([`channels.${p}.accounts.${a}`, v as Record<string, unknown>]);
      }
      for (const [name, sc] of scopes)
        if (sc.dmPolicy === "open") {
          sc.dmPolicy = "pairing";
          changes.push({ kind: "config", target: `${name}.dmPolicy`, from: "open", to: "pairing" });
        }
    }
  }
  const logging = get(c, "logging") as Record<string, unknown> | undefined;
  if (logging && typeof logging === "object") {
    if (logging.redactSensitive === "off") {
      delete logging.redactSensitive;
      changes.push({ kind: "config", target: "logging.redactSensitive", from: "off", to: "(removed: OpenClaw 2026.9.6 always redacts)" });
    }
    if (Array.isArray(logging.redactPatterns) && logging.redactPatterns.length === 0) {
      delete logging.redactPatterns;
      changes.push({ kind: "config", target: "logging.redactPatterns", from: "[]", to: "(removed: OpenClaw's default patterns)" });
    }
  }
  if (!changes.length) return;
  try {
    // the original is kept, private, next to the audit logs
    const dir = secureclawDir(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, `openclaw.json.before-hardening-${now.toISOString().replace(/[:.]/g, "-")}`), text, { mode: 0o600 });
    const tmp = `${path}.hardening.${process.pid}.tmp`;
    // (in Tropic's layout the gateway reads its config through the group: the group keeps its read)
    const keep = mode & ~stripFor("config", tropicLayout, false);
    // (the state directory is the gateway's group's too: never through a file planted at the temp name)
    rmSync(tmp, { force: true });
    writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: keep, flag: "wx" });
    chmodSync(tmp, keep);
    renameSync(tmp, path);
    out.changes.push(...changes);
  } catch (e) {
    out.errors.push(`${path}: ${(e as Error).message}`);
  }
}
