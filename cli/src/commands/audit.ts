// `tropic audit INSTANCE`: is the box safe? Runs an audit on the instance now (the control plane asks its
// agent: docs/hardening.md) and prints the score, the open findings by severity with evidence and
// remediation, the accepted ones apart with their reasons, and the open integrity incidents.
// `--accept-changes --reason TEXT` accepts the open incidents as the new baseline instead.
import { CliError } from "../client.ts";
import type { Command } from "./index.ts";
import { resolveInstance, shellArg } from "./resolve.ts";
import { authed, print } from "./session.ts";

type Severity = "CRIT" | "HIGH" | "MED" | "LOW";
const SEVERITIES: Severity[] = ["CRIT", "HIGH", "MED", "LOW"];
interface Finding {
  id: string;
  title: string;
  severity: Severity;
  evidence: string;
  remediation: string;
  reason?: string;
}
interface Audit {
  id: string;
  at: string;
  kind: string;
  score: number;
  counts: Record<Severity, number>;
  report: { findings: Finding[]; accepted: Finding[]; passed?: number; notApplicable?: number };
}
interface Incident {
  id: string;
  name: string;
  path: string;
  change: string;
  detectedAt: string;
  acceptedAt: string | null;
  reason: string | null;
}

const when = (iso: string) => iso.replace(/\.\d+Z$/, "Z");

/** The human report (the same findings the dashboard shows). */
export function auditText(name: string, a: Audit, open: Incident[]): string {
  const lines = [
    `Instance ${name}: score ${a.score}/100 (${a.kind} audit, ${when(a.at)})`,
    SEVERITIES.map((s) => `${s} ${a.counts[s] ?? 0}`).join("  ") +
      (a.report.passed !== undefined ? `  (${a.report.passed} passed, ${a.report.notApplicable ?? 0} not applicable)` : ""),
  ];
  for (const s of SEVERITIES) {
    const fs = a.report.findings.filter((f) => f.severity === s);
    if (!fs.length) continue;
    lines.push("", `${s}:`);
    for (const f of fs) lines.push(`  ${f.id}  ${f.title}`, `    evidence: ${f.evidence}`, `    fix: ${f.remediation}`);
  }
  if (!a.report.findings.length) lines.push("", "No open findings.");
  if (a.report.accepted.length) {
    lines.push("", "Accepted (deliberate, not counted in the score):");
    for (const f of a.report.accepted) lines.push(`  ${f.id} (${f.severity})  ${f.title}`, `    reason: ${f.reason ?? "-"}`);
  }
  if (open.length) {
    lines.push("", `Integrity incidents (${open.length} open: changed since the baseline):`);
    for (const i of open) lines.push(`  ${i.name} ${i.change} (${i.path}), detected ${when(i.detectedAt)}`);
    lines.push(`  Expected changes? tropic audit ${shellArg(name)} --accept-changes --reason "why"`);
  }
  return lines.join("\n");
}

export const auditCommands: Record<string, Command> = {
  audit: {
    usage: "INSTANCE [--accept-changes --reason TEXT]",
    args: ["INSTANCE"],
    summary:
      "audit the instance's host now: score, findings by severity with evidence and fixes, integrity incidents; --accept-changes --reason TEXT accepts the open incidents as the new baseline",
    options: {
      "accept-changes": {
        type: "boolean",
        help: "accept every open integrity incident (changed identity files, gate files or protected config) as the new baseline; needs --reason",
      },
      reason: { type: "string", value: "TEXT", help: "why the changes are expected (kept with them; 1-500 characters)" },
    },
    fields: { reason: { as: "--reason" }, id: { next: "tropic instances ls" }, incidentIds: { as: "--accept-changes" } },
    async run(c) {
      const accept = c.flags["accept-changes"] === true;
      const reason = c.flags.reason as string | undefined;
      if (accept && reason === undefined)
        throw new CliError(`--accept-changes needs --reason TEXT: why the changes are expected (see ${c.path} --help)`, 2);
      if (!accept && reason !== undefined) throw new CliError(`--reason goes with --accept-changes (see ${c.path} --help)`, 2);
      const api = authed(c);
      const inst = await resolveInstance(api, c.args[0]!);
      const name = String(inst.name);
      if (accept) {
        const r = await api.post<{ accepted: string[] }>(`/api/v1/instances/${inst.id}/integrity/accept`, { reason });
        print(c, r, () =>
          r.accepted.length
            ? `Accepted ${r.accepted.length} integrity change${r.accepted.length === 1 ? "" : "s"} on ${name} as the new baseline.`
            : `No open integrity incidents on ${name}: nothing to accept.`,
        );
        return 0;
      }
      const r = await api.post<{ audit: Audit }>(`/api/v1/instances/${inst.id}/audits`, {});
      if (c.json) {
        print(c, r, () => "");
        return 0;
      }
      const posture = await api.get<{ incidents: Incident[] }>(`/api/v1/instances/${inst.id}/posture`);
      c.out(
        auditText(
          name,
          r.audit,
          posture.incidents.filter((i) => !i.acceptedAt),
        ),
      );
      return 0;
    },
  },
};
