// Integrity baselines (the seed's Rule 7): sha256 of the identity files (SOUL.md, IDENTITY.md, AGENTS.md,
// USER.md, TOOLS.md where present), the gate's plugin files and the protected part of openclaw.json (the
// gate's entry, gateway auth and bind), kept in ~/.openclaw/.secureclaw/baselines/. A changed, deleted or
// added file is an incident, appended to ~/.openclaw/.secureclaw/events.log; a person may accept a change
// as the new baseline. Audit reports are written next to them (provision-audit.txt, deploy-audit-<ts>.txt).
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { get } from "./checks.ts";
import { formatReport } from "./engine.ts";
import { parseJson5 } from "./json5.ts";
import { hashFile, readTail } from "./safefs.ts";
import type { IntegrityIncident, Report } from "./types.ts";

export const IDENTITY_FILES = ["SOUL.md", "IDENTITY.md", "AGENTS.md", "USER.md", "TOOLS.md"];
export const GATE_PLUGIN_ID = "tropic-gate";
const MAX_FILES = 5000;

export const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/** sha256 over a directory tree: sorted relative paths with each file's sha256 (symlinks by target). */
export function treeHash(dir: string): string {
  const entries: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 10 || entries.length > MAX_FILES) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) entries.push(`${rel}\0link:${readlinkSync(p)}`);
      else if (st.isDirectory()) walk(p, depth + 1);
      else if (st.isFile()) entries.push(`${rel}\0${hashFile(p) ?? "unreadable"}`);
    }
  };
  walk(dir, 0);
  return sha256(entries.join("\n"));
}

export interface Layout {
  stateDir: string;
  home?: string;
  /** workspaces to read identity files from (default: from the config, else <stateDir>/workspace) */
  workspaces?: string[];
  /** the gate plugin's directory (default: found in plugins.load.paths) */
  gateDir?: string;
}

export const secureclawDir = (stateDir: string) => join(stateDir, ".secureclaw");
const baselineFile = (stateDir: string) => join(secureclawDir(stateDir), "baselines", "sha256.json");
const eventsFile = (stateDir: string) => join(secureclawDir(stateDir), "events.log");

export function readConfig(stateDir: string): { config?: Record<string, unknown>; error?: string; path: string } {
  const path = join(stateDir, "openclaw.json");
  if (!existsSync(path)) return { path };
  try {
    const text = readTail(path, 8 << 20);
    if (text === undefined) return { path, error: "openclaw.json is not a regular file" };
    const v = parseJson5(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return { path, error: "openclaw.json is not an object" };
    return { path, config: v as Record<string, unknown> };
  } catch (e) {
    return { path, error: `openclaw.json: ${(e as Error).message}` };
  }
}

const expand = (p: string, home: string, stateDir: string) =>
  p === "~/.openclaw" || p.startsWith("~/.openclaw/") ? join(stateDir, p.slice(11)) : p.startsWith("~/") ? join(home, p.slice(2)) : p;

export function workspacesOf(config: Record<string, unknown> | undefined, l: Layout): string[] {
  if (l.workspaces) return l.workspaces;
  const home = l.home ?? homedir();
  const out = new Set<string>();
  const d = get(config, "agents.defaults.workspace");
  if (typeof d === "string") out.add(expand(d, home, l.stateDir));
  const e = get(config, "agents.entries");
  if (e && typeof e === "object")
    for (const a of Object.values(e)) {
      const w = get(a, "workspace");
      if (typeof w === "string") out.add(expand(w, home, l.stateDir));
    }
  if (!out.size) out.add(join(l.stateDir, "workspace"));
  return [...out];
}

export function gateDirOf(config: Record<string, unknown> | undefined, l: Layout): string | undefined {
  if (l.gateDir) return l.gateDir;
  const paths = get(config, "plugins.load.paths");
  if (!Array.isArray(paths)) return undefined;
  for (const p of paths) {
    const dir = expand(String(p), l.home ?? homedir(), l.stateDir);
    try {
      const m = JSON.parse(readTail(join(dir, "openclaw.plugin.json"), 1 << 20) ?? "null") as { id?: string };
      if (m.id === GATE_PLUGIN_ID) return dir;
    } catch {
      /* not this one */
    }
  }
  return undefined;
}

/** The protected part of the config, canonicalised (key order does not matter). */
export function protectedConfig(config: Record<string, unknown> | undefined): string {
  const canon = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return JSON.stringify(
    canon({
      gate: get(config, `plugins.entries.${GATE_PLUGIN_ID}`),
      auth: get(config, "gateway.auth"),
      bind: get(config, "gateway.bind") ?? null,
      load: get(config, "plugins.load.paths"),
    }),
  );
}

export interface BaselineEntry {
  path: string;
  sha256: string;
}
export interface Baseline {
  version: 1;
  createdAt: string;
  files: Record<string, BaselineEntry>;
}

/** A workspace's stable name in the baseline: its path under the state directory ("workspace",
 * "workspace/helper"), else under the home ("~/…"), else absolute. Stable when agents come and go (an
 * index would rename every entry when a workspace is added). */
export function workspaceName(w: string, l: Layout): string {
  const under = (root: string) => {
    const r = relative(root, w);
    return r && !r.startsWith("..") && !isAbsolute(r) ? r : undefined;
  };
  const s = under(l.stateDir);
  if (s) return s;
  const h = under(l.home ?? homedir());
  return h ? `~/${h}` : w;
}

/** What is watched now: name → {path, sha256}. */
export function currentHashes(l: Layout): Record<string, BaselineEntry> {
  const { config } = readConfig(l.stateDir);
  const out: Record<string, BaselineEntry> = {};
  for (const w of workspacesOf(config, l)) {
    const name = workspaceName(w, l);
    for (const f of IDENTITY_FILES) {
      const p = join(w, f);
      try {
        const h = lstatSync(p).isFile() ? hashFile(p) : undefined;
        if (h) out[`${name}/${f}`] = { path: p, sha256: h };
      } catch {
        /* absent: not watched */
      }
    }
  }
  const gate = gateDirOf(config, l);
  if (gate && existsSync(gate)) out["gate/plugin"] = { path: gate, sha256: treeHash(gate) };
  if (config) out["config/protected"] = { path: join(l.stateDir, "openclaw.json"), sha256: sha256(protectedConfig(config)) };
  return out;
}

/** .secureclaw/ and its baselines/: made 0700; an existing one must be a real directory of this user
 * (the state directory is the tenant's: a symlink or a directory planted there is refused, not used). */
function ensureDir(d: string) {
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const st = lstatSync(d);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()))
    throw new Error(`refusing ${d}: not a directory of this user (a symlink or another user's directory)`);
  chmodSync(d, 0o700);
}

function writePrivate(path: string, text: string) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Makes ~/.openclaw/.secureclaw (0700) or refuses one that is not this user's real directory. */
export function ensureSecureclawDir(stateDir: string): string {
  ensureDir(secureclawDir(stateDir));
  return secureclawDir(stateDir);
}

export function readBaseline(stateDir: string): Baseline | undefined {
  try {
    const b = JSON.parse(readTail(baselineFile(stateDir), 8 << 20) ?? "null") as Baseline;
    return b && b.version === 1 && b.files ? b : undefined;
  } catch {
    return undefined;
  }
}

export function recordBaseline(l: Layout, now = new Date()): Baseline {
  ensureDir(secureclawDir(l.stateDir));
  ensureDir(join(secureclawDir(l.stateDir), "baselines"));
  const b: Baseline = { version: 1, createdAt: now.toISOString(), files: currentHashes(l) };
  writePrivate(baselineFile(l.stateDir), `${JSON.stringify(b, null, 2)}\n`);
  logEvent(l.stateDir, { type: "baseline", files: Object.keys(b.files).length }, now);
  return b;
}

export function logEvent(stateDir: string, ev: Record<string, unknown>, now = new Date()) {
  ensureDir(secureclawDir(stateDir));
  appendFileSync(eventsFile(stateDir), `${JSON.stringify({ ts: now.toISOString(), ...ev })}\n`, { mode: 0o600 });
}

export function readEvents(stateDir: string): Record<string, unknown>[] {
  try {
    return readFileSync(eventsFile(stateDir), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((x) => JSON.parse(x) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/** Compares the watched files with the baseline; each difference is an incident appended to events.log. */
export function checkIntegrity(l: Layout, now = new Date()): { baseline: boolean; incidents: IntegrityIncident[] } {
  const b = readBaseline(l.stateDir);
  if (!b) return { baseline: false, incidents: [] };
  const cur = currentHashes(l);
  const incidents: IntegrityIncident[] = [];
  for (const [name, e] of Object.entries(b.files)) {
    const c = cur[name];
    if (!c) incidents.push({ kind: "deleted", name, path: e.path, expected: e.sha256 });
    else if (c.sha256 !== e.sha256) incidents.push({ kind: "changed", name, path: c.path, expected: e.sha256, actual: c.sha256 });
  }
  for (const [name, c] of Object.entries(cur)) if (!b.files[name]) incidents.push({ kind: "added", name, path: c.path, actual: c.sha256 });
  // events.log gets each incident once (a file still changed 12 hours later is not a new event); the
  // returned list always has all of them, each marked whether it is new since the last run
  const seenPath = join(secureclawDir(l.stateDir), "baselines", "reported.json");
  let seen: Record<string, string> = {};
  try {
    seen = JSON.parse(readTail(seenPath, 1 << 20) ?? "{}") as Record<string, string>;
  } catch {
    seen = {};
  }
  const next: Record<string, string> = {};
  for (const i of incidents) {
    const key = `${i.kind}:${i.actual ?? ""}`;
    i.new = seen[i.name] !== key;
    next[i.name] = key;
    if (i.new) logEvent(l.stateDir, { type: "integrity", kind: i.kind, name: i.name, path: i.path, expected: i.expected, actual: i.actual }, now);
  }
  if (JSON.stringify(next) !== JSON.stringify(seen)) writePrivate(seenPath, `${JSON.stringify(next)}\n`);
  return { baseline: true, incidents };
}

/** Accepts the current state of `names` (all when omitted) as the new baseline. */
export function acceptChanges(l: Layout, names?: string[], reason = "accepted", now = new Date()): Baseline {
  const b = readBaseline(l.stateDir);
  if (!b || !names) return recordBaseline(l, now);
  const cur = currentHashes(l);
  for (const n of names) {
    if (cur[n]) b.files[n] = cur[n];
    else delete b.files[n];
  }
  b.createdAt = now.toISOString();
  writePrivate(baselineFile(l.stateDir), `${JSON.stringify(b, null, 2)}\n`);
  logEvent(l.stateDir, { type: "accept", names, reason }, now);
  return b;
}

/** What Tropic itself just wrote (the instance agent's deploys), taken into the baseline so that only
 * other changes are incidents. `files`: exact paths written (their entries follow the file, or go when it
 * is gone); `under`: directories whose set of watched files changed (an agent registered or removed):
 * entries appear or go there, existing ones are left as they are; `config`: the protected part of
 * openclaw.json; `gate`: the gate plugin's files. Nothing happens without a baseline. Returns the
 * names updated. */
export function updateBaseline(
  l: Layout,
  o: { files?: string[]; under?: string[]; config?: boolean; gate?: boolean },
  reason: string,
  now = new Date(),
): string[] {
  const b = readBaseline(l.stateDir);
  if (!b) return [];
  const cur = currentHashes(l);
  const changed: string[] = [];
  const set = (n: string) => {
    const c = cur[n];
    if (c ? b.files[n]?.sha256 === c.sha256 && b.files[n]?.path === c.path : !b.files[n]) return;
    if (c) b.files[n] = c;
    else delete b.files[n];
    changed.push(n);
  };
  const files = new Set(o.files ?? []);
  const inside = (p: string) => (o.under ?? []).some((d) => p === d || p.startsWith(`${d}/`));
  for (const n of new Set([...Object.keys(b.files), ...Object.keys(cur)])) {
    const path = cur[n]?.path ?? b.files[n]!.path;
    if (files.has(path)) set(n);
    else if (inside(path) && !cur[n] !== !b.files[n]) set(n);
  }
  if (o.config) set("config/protected");
  if (o.gate) set("gate/plugin");
  if (!changed.length) return [];
  writePrivate(baselineFile(l.stateDir), `${JSON.stringify(b, null, 2)}\n`);
  logEvent(l.stateDir, { type: "baseline-update", names: changed, reason }, now);
  return changed;
}

/** provision-audit.txt or deploy-audit-<timestamp>.txt (with a .json twin), private to the owner. */
export function writeAuditReport(stateDir: string, report: Report, kind: "provision" | "deploy"): string {
  const dir = secureclawDir(stateDir);
  ensureDir(dir);
  const name = kind === "provision" ? "provision-audit" : `deploy-audit-${report.ts.replace(/[:.]/g, "-")}`;
  const path = join(dir, `${name}.txt`);
  writePrivate(path, formatReport(report));
  writePrivate(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
