// Is the box safe? (issue 18): the hardening engine (@tropic/hardening) run for the control plane's
// `audit`, `integrity` and `accept_integrity` commands, and to take Tropic's own writes into the
// integrity baseline. This module runs in a child process of the worker (`<bundle> --audit`, JSON over
// stdin/stdout): same sandbox, same user (the instance's agent user, never root), with a heap of its
// own, since an audit costs more (+20–27 MB for ~30 ms) than the worker's 16 MB allows. Tenant files are
// read with hardening's safe readers (O_NOFOLLOW, regular files only, bounded).
import { existsSync, lstatSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  acceptChanges,
  type Change,
  type CollectOptions,
  checkIntegrity,
  collect,
  currentHashes,
  ensureSecureclawDir,
  harden,
  logEvent,
  readBaseline,
  recordBaseline,
  runAudit,
  secureclawDir,
  tropicAccepted,
  updateBaseline,
  writeAuditReport,
} from "@tropic/hardening";
import type { AuditFacts } from "@tropic/hardening/cli.ts";
import { readTail } from "@tropic/hardening/safefs.ts";
import type { AcceptIntegrityResult, AuditResult, IntegrityResult } from "./protocol.ts";
import { installSeedScripts } from "./seed-scripts.ts";

/** What the agent proper knows about the host that the worker cannot see (from launch.json). */
export interface HostFacts {
  /** the gateway is a service of the machine's service manager (a user's machine or a VM), not the agent's child */
  service?: boolean;
  kind?: "local" | "byo" | "vm";
  isolation?: CollectOptions["isolation"];
}

export interface HardeningRequest {
  op: "audit" | "integrity" | "accept_integrity" | "update_baseline" | "install_scripts";
  payload: Record<string, unknown>;
  stateDir: string;
  homeDir: string;
  facts?: HostFacts;
  /** the hardening CLI the installed scripts default to (null: none) */
  cli?: string[] | null;
  /** OpenClaw's `security audit --json` output, run by the agent (audit with openclaw: true) */
  openclawAuditJson?: string;
  /** why it could not be run */
  openclawAuditError?: string;
}

const KINDS = ["provision", "deploy", "daily", "manual"] as const;
const FACTS_FILE = "audit-facts.json";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

export async function runHardeningOp(req: HardeningRequest): Promise<unknown> {
  const layout = { stateDir: req.stateDir, home: req.homeDir };
  const p = req.payload ?? {};
  // .secureclaw/ must be the agent user's own directory before anything is read or written there (the
  // state directory is the gateway's group's too: one it planted, or a symlink, is refused)
  if (req.op !== "install_scripts" && req.op !== "audit") ensureSecureclawDir(req.stateDir);
  switch (req.op) {
    case "audit":
      return audit(req);
    case "integrity": {
      const checkedAt = new Date().toISOString();
      if (!readBaseline(req.stateDir)) {
        recordBaseline(layout);
        return { baseline: false, incidents: [], checkedAt } satisfies IntegrityResult;
      }
      return { ...checkIntegrity(layout), checkedAt } satisfies IntegrityResult;
    }
    case "accept_integrity": {
      if (typeof p.reason !== "string" || !p.reason.trim()) throw new Error("reason: say why the change is accepted (a non-empty string)");
      if (p.names !== undefined && !(Array.isArray(p.names) && p.names.every((n) => typeof n === "string")))
        throw new Error("names: a list of baseline names (e.g. workspace/SOUL.md)");
      const b = readBaseline(req.stateDir);
      if (!b) throw new Error("there is no integrity baseline yet: nothing to accept (run integrity first)");
      const cur = currentHashes(layout);
      const differing = [...new Set([...Object.keys(b.files), ...Object.keys(cur)])].filter(
        (n) => b.files[n]?.sha256 !== cur[n]?.sha256 || b.files[n]?.path !== cur[n]?.path,
      );
      const names = (p.names as string[] | undefined) ?? differing;
      const unknown = names.filter((n) => !b.files[n] && !cur[n]);
      if (unknown.length) throw new Error(`names: not in the baseline nor watched now: ${unknown.join(", ")}`);
      if (names.length) acceptChanges(layout, names, p.reason.trim());
      return { accepted: names } satisfies AcceptIntegrityResult;
    }
    case "update_baseline": {
      const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
      return {
        updated: updateBaseline(
          layout,
          { files: list(p.files), under: list(p.under), config: p.config === true, gate: p.gate === true },
          typeof p.reason === "string" ? p.reason : "written by Tropic",
        ),
      };
    }
    case "install_scripts":
      return { files: installSeedScripts(req.stateDir, req.cli ?? null) };
    default:
      throw new Error(`unknown hardening operation "${req.op as string}"`);
  }
}

function auditPayload(p: Obj) {
  if (!KINDS.includes(p.kind as (typeof KINDS)[number])) throw new Error(`kind: one of ${KINDS.join(", ")}`);
  for (const k of ["harden", "openclaw"]) if (p[k] !== undefined && typeof p[k] !== "boolean") throw new Error(`${k}: true or false`);
  if (p.accepted !== undefined && !(isObj(p.accepted) && Object.values(p.accepted).every((v) => typeof v === "string" && v.trim())))
    throw new Error("accepted: an object of check id → reason (non-empty strings)");
  if (p.packs !== undefined && !(Array.isArray(p.packs) && p.packs.every((x) => typeof x === "string")))
    throw new Error("packs: a list of pack names");
  return p as { kind: (typeof KINDS)[number]; harden?: boolean; openclaw?: boolean; accepted?: Record<string, string>; packs?: string[] };
}

/** The facts the collector cannot find by itself: the host's kind, the gateway's user (the owner of the
 * instance's home: root made it the gateway's), the isolation in force, the packs, what is known. */
function factsFor(req: HardeningRequest, packs: string[] | undefined, config: Obj | undefined): AuditFacts {
  const f = req.facts ?? {};
  const facts: AuditFacts = {
    version: 1,
    kind: f.kind ?? (existsSync("/etc/tropic/vm.json") ? "vm" : f.service ? "byo" : "local"),
    // the skills Tropic installed (skills.entries): known, not pinned
    knownSkills: Object.fromEntries(
      Object.keys(isObj(config?.skills) && isObj(config.skills.entries) ? config.skills.entries : {}).map((k) => [k, []]),
    ),
    knownPlugins: {},
  };
  try {
    const st = lstatSync(req.homeDir);
    if (st.isDirectory()) {
      facts.gatewayUid = st.uid;
      facts.gatewayGid = st.gid;
    }
  } catch {}
  if (f.isolation) facts.isolation = f.isolation;
  if (packs) facts.expectedPacks = packs;
  return facts;
}

/** Files under .secureclaw/ (two levels) with their size and mtime, to say which ones a run wrote. */
function listing(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth < 1) walk(p, depth + 1);
      else if (st.isFile()) out.set(relative(stateDir, p), `${st.size}:${st.mtimeMs}`);
    }
  };
  walk(secureclawDir(stateDir), 0);
  return out;
}

async function audit(req: HardeningRequest): Promise<AuditResult> {
  const p = auditPayload(req.payload ?? {});
  ensureSecureclawDir(req.stateDir);
  const layout = { stateDir: req.stateDir, home: req.homeDir };
  const before = listing(req.stateDir);
  const scripts = p.kind === "provision" ? installSeedScripts(req.stateDir, req.cli ?? null) : [];
  const cfg0 = (await collect({ stateDir: req.stateDir, home: req.homeDir, integrity: false })).config;
  let facts = factsFor(req, p.packs, cfg0);
  const options = (): CollectOptions => ({
    stateDir: req.stateDir,
    home: req.homeDir,
    // a local instance shares the control plane's machine: its sshd and units are the operator's, not the instance's
    os: facts.kind !== "local",
    kind: facts.kind,
    gatewayUid: facts.gatewayUid,
    gatewayGid: facts.gatewayGid,
    isolation: facts.isolation,
    expectedPacks: facts.expectedPacks,
    knownPlugins: facts.knownPlugins,
    knownSkills: facts.knownSkills,
  });
  let hardened: Change[] | null = null;
  if (p.kind === "provision" && p.harden !== false) {
    const r = harden(await collect({ ...options(), integrity: false }));
    hardened = r.changes;
    logEvent(req.stateDir, { type: "harden", changes: r.changes.map((c) => c.target), errors: r.errors });
  }
  const had = !!readBaseline(req.stateDir);
  // a baseline is recorded when there is none (a host provisioned before there were baselines, too)
  if (!had) recordBaseline(layout);
  const s = await collect({
    ...options(),
    integrity: true,
    ...(p.openclaw && req.openclawAuditJson !== undefined ? { openclawAuditJson: req.openclawAuditJson } : {}),
  });
  if (p.openclaw && req.openclawAuditJson === undefined)
    s.openclawAudit = { findings: [], error: `OpenClaw's security audit did not run: ${req.openclawAuditError ?? "not available on this host"}` };
  facts = { ...facts, accepted: { ...tropicAccepted(s), ...(p.accepted ?? {}) } };
  const report = runAudit(s, { accepted: facts.accepted });
  if (p.kind === "provision" || p.kind === "deploy") writeAuditReport(req.stateDir, report, p.kind);
  else logEvent(req.stateDir, { type: "audit", kind: p.kind, score: report.score, counts: report.counts });
  writeFacts(req.stateDir, facts);
  const after = listing(req.stateDir);
  const files = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
  return {
    report,
    hardened,
    integrity: { baseline: had, incidents: s.integrity?.incidents ?? [] },
    files: [...files.sort(), ...scripts],
  };
}

/** The facts of this audit for the offline CLI (the seed's scripts print what the dashboard shows). */
function writeFacts(stateDir: string, facts: AuditFacts) {
  const path = join(secureclawDir(stateDir), FACTS_FILE);
  const text = `${JSON.stringify(facts, null, 2)}\n`;
  if (readTail(path, 1 << 20) === text) return;
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}

/** `<bundle> --audit`: one request on stdin, `{ok, result}` or `{ok: false, error}` on stdout. */
export function runHardeningChild() {
  const chunks: Buffer[] = [];
  process.stdin.on("data", (d: Buffer) => chunks.push(d));
  process.stdin.on("end", () => {
    const done = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`, () => process.exit(0));
    let req: HardeningRequest;
    try {
      req = JSON.parse(Buffer.concat(chunks).toString("utf8")) as HardeningRequest;
    } catch {
      return done({ ok: false, error: "the hardening child got no request" });
    }
    runHardeningOp(req).then(
      (result) => done({ ok: true, result }),
      (e: Error) => done({ ok: false, error: e.message }),
    );
  });
}
