// The audit: every check over one snapshot, OpenClaw's own `security audit --json` findings folded in
// (critical → CRIT, warn → MED; info is not a finding; a checkId a Tropic check already decided is
// dropped), accepted findings set apart, and the posture score.
import { CHECKS, COVERED_OPENCLAW } from "./checks.ts";
import type { Check, Finding, Report, Severity, Snapshot } from "./types.ts";

export const WEIGHTS: Record<Severity, number> = { CRIT: 15, HIGH: 8, MED: 3, LOW: 1 };
const ORDER: Severity[] = ["CRIT", "HIGH", "MED", "LOW"];

/** 100 − 15·CRIT − 8·HIGH − 3·MED − 1·LOW, floored at 0 (accepted findings are not counted). */
export function score(counts: Partial<Record<Severity, number>>): number {
  let s = 100;
  for (const k of ORDER) s -= WEIGHTS[k] * (counts[k] ?? 0);
  return Math.max(0, s);
}

/** Non-PASS findings that are deliberate on a Tropic host, given the facts: OpenClaw's Docker tool
 * sandbox is off because the whole gateway is isolated (bubblewrap sandbox, its own VM or service);
 * the state directory is group-writable and the config group-readable because the group is the
 * instance's own two users (agent/src/commands.ts: MODE_PROTECTED 0640, directories 2770/3770). */
export function tropicAccepted(s: Snapshot): Record<string, string> {
  const out: Record<string, string> = {};
  const st = s.files?.stateDir;
  if (st && (st.mode & 0o3000) === 0o3000 && s.gatewayGid === st.gid) {
    const why = "Tropic's layout: the state directory's group is the instance's own (agent and gateway users), setgid and sticky";
    out["fs.state_dir.group_writable"] = why;
    out["openclaw:fs.config.perms_group_readable"] = `${why}; the gateway reads its protected config through the group`;
  }
  const gate =
    s.config &&
    (s.config.plugins as { entries?: Record<string, { enabled?: boolean; config?: { enabled?: boolean } }> } | undefined)?.entries?.["tropic-gate"];
  if (gate && gate.enabled !== false && gate.config?.enabled !== false && s.gate?.installed)
    out["tools.exec.mode_full"] =
      "Tropic's gate decides every exec call before it runs (DENY / REQUIRE CONFIRM), in place of OpenClaw's exec approvals";
  if (s.isolation && s.isolation.kind !== "none")
    out["sandbox.agent_mode_off"] =
      `Tropic isolates the whole gateway (${s.isolation.kind}); OpenClaw's Docker tool sandbox is not available inside it`;
  return out;
}

export interface AuditOptions {
  /** check id → why the non-PASS finding is deliberate */
  accepted?: Record<string, string>;
  checks?: Check[];
  now?: Date;
}

function coveredBy(checkId: string): string | undefined {
  if (COVERED_OPENCLAW[checkId]) return COVERED_OPENCLAW[checkId];
  if (/^channels\.[^.]+\.dm\.open$/.test(checkId)) return "channels.dm_open";
  if (/^tools\.elevated\.allowFrom\.[^.]+\.wildcard$/.test(checkId)) return "tools.elevated.wildcard";
  return undefined;
}

export function runAudit(s: Snapshot, o: AuditOptions = {}): Report {
  const accepted = o.accepted ?? {};
  const all: Finding[] = [];
  const ran = new Set<string>();
  let passed = 0;
  let na = 0;
  for (const ch of o.checks ?? CHECKS) {
    let out: ReturnType<Check["run"]>;
    try {
      out = ch.run(s);
    } catch (e) {
      // a check that cannot read its facts fails visibly rather than passing
      out = { pass: false, evidence: `check error: ${(e as Error).message}` };
    }
    const base = {
      id: ch.id,
      title: ch.title,
      severity: ch.severity,
      category: ch.category,
      frameworks: ch.frameworks,
      remediation: ch.remediation,
      source: "tropic" as const,
    };
    if (out === null) {
      na++;
      continue;
    }
    ran.add(ch.id);
    if (out.pass) {
      passed++;
      continue;
    }
    const reason = accepted[ch.id];
    all.push({ ...base, status: reason ? "ACCEPTED" : "FAIL", evidence: out.evidence, ...(reason ? { reason } : {}) });
  }
  for (const f of s.openclawAudit?.findings ?? []) {
    const sev: Severity | undefined = f.severity === "critical" ? "CRIT" : f.severity === "warn" ? "MED" : undefined;
    if (!sev) continue;
    const ours = coveredBy(f.checkId);
    if (ours && ran.has(ours)) continue;
    const id = `openclaw:${f.checkId}`;
    const reason = accepted[id];
    all.push({
      id,
      title: f.title,
      severity: sev,
      status: reason ? "ACCEPTED" : "FAIL",
      category: "openclaw",
      frameworks: [],
      evidence: f.detail ?? f.title,
      remediation: f.remediation ?? "See OpenClaw's docs/gateway/security/audit-checks.md for this checkId.",
      source: "openclaw",
      ...(reason ? { reason } : {}),
    });
  }
  if (s.openclawAudit?.error) na++;
  const sort = (a: Finding, b: Finding) => ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity) || a.id.localeCompare(b.id);
  const findings = all.filter((f) => f.status === "FAIL").sort(sort);
  const acc = all.filter((f) => f.status === "ACCEPTED").sort(sort);
  const counts: Record<Severity, number> = { CRIT: 0, HIGH: 0, MED: 0, LOW: 0 };
  for (const f of findings) counts[f.severity]++;
  return { ts: (o.now ?? new Date()).toISOString(), score: score(counts), counts, findings, accepted: acc, passed, notApplicable: na };
}

/** The text report (provision-audit.txt, deploy-audit-*.txt, the CLI): the same findings the JSON carries. */
export function formatReport(r: Report): string {
  const lines: string[] = [];
  lines.push(`Tropic host audit ${r.ts}`);
  lines.push(
    `Posture score: ${r.score}/100   CRIT ${r.counts.CRIT}  HIGH ${r.counts.HIGH}  MED ${r.counts.MED}  LOW ${r.counts.LOW}   PASS ${r.passed}   not applicable ${r.notApplicable}`,
  );
  lines.push("");
  for (const sev of ORDER) {
    const fs = r.findings.filter((f) => f.severity === sev);
    if (!fs.length) continue;
    lines.push(`== ${sev} (${fs.length})`);
    for (const f of fs) {
      lines.push(`[${sev}] ${f.id}: ${f.title}`);
      lines.push(`    evidence:    ${f.evidence}`);
      lines.push(`    remediation: ${f.remediation}`);
      if (f.frameworks.length) lines.push(`    frameworks:  ${f.frameworks.join("; ")}`);
    }
    lines.push("");
  }
  if (r.accepted.length) {
    lines.push(`== ACCEPTED (${r.accepted.length}, not counted in the score)`);
    for (const f of r.accepted) {
      lines.push(`[${f.severity}] ${f.id}: ${f.title}`);
      lines.push(`    evidence: ${f.evidence}`);
      lines.push(`    accepted: ${f.reason}`);
    }
    lines.push("");
  }
  if (!r.findings.length) lines.push("No open findings.");
  return `${lines.join("\n")}\n`;
}
