// The facts an audit reads (a snapshot gathered on the host by collect.ts, or built by a test) and the
// findings it produces. Every fact is optional: a check whose facts were not gathered is "not
// applicable", never a pass.

export type Severity = "CRIT" | "HIGH" | "MED" | "LOW";
export type Status = "PASS" | "FAIL" | "N/A" | "ACCEPTED";

export interface FileFact {
  path: string;
  /** permission bits (mode & 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  dir?: boolean;
  symlink?: boolean;
}

export type FileRole =
  | "stateDir"
  | "config"
  | "env"
  | "credentialsDir"
  | "authProfiles"
  | "sessionsDir"
  | "logsDir"
  | "secureclawDir"
  | "sonderaDir"
  | "sshDir";

export interface Socket {
  proto: "tcp" | "tcp6";
  address: string;
  port: number;
}

export interface InstalledItem {
  /** skill name or plugin id */
  id: string;
  /** sha256 of the installed tree (integrity.ts's treeHash), when it could be read */
  sha256?: string;
  path?: string;
}

export interface OpenclawFinding {
  checkId: string;
  severity: string;
  title: string;
  detail?: string;
  remediation?: string;
}

export interface IntegrityIncident {
  kind: "changed" | "deleted" | "added";
  /** the name in the baseline, e.g. "workspace/SOUL.md" */
  name: string;
  path: string;
  expected?: string;
  actual?: string;
  /** first seen in this run (logged to events.log); false when an earlier run already reported it */
  new?: boolean;
}

export interface Snapshot {
  host?: { platform?: string; kind?: "local" | "byo" | "vm"; uid?: number };
  stateDir?: string;
  /** openclaw.json as parsed (undefined: not read; configError says why it could not be parsed) */
  config?: Record<string, unknown>;
  configError?: string;
  /** null: known to be absent */
  files?: Partial<Record<FileRole, FileFact | null>>;
  /** private keys found on the host (state dir, ~/.ssh) */
  keyFiles?: FileFact[];
  /** file name → content */
  identityFiles?: Record<string, string>;
  memoryFiles?: Record<string, string>;
  shellHistory?: Record<string, string>;
  /** the uid the gateway runs as */
  gatewayUid?: number;
  /** its group (group-writable protected files count as writable by the gateway when unknown) */
  gatewayGid?: number;
  /** protected paths (config, gate plugin files): path → fact */
  protectedFiles?: FileFact[];
  sockets?: Socket[];
  /** sshd effective settings, keys lower-cased, first value wins */
  sshd?: Record<string, string>;
  /** unit → "masked" | "enabled" | "disabled" | "absent" */
  services?: Record<string, string>;
  expectMasked?: string[];
  unattendedUpgrades?: { expected: boolean; enabled: boolean };
  firewall?: { active: boolean; detail?: string };
  isolation?: { kind: "bubblewrap" | "systemd" | "vm" | "container" | "none"; detail?: string };
  installed?: { skills: InstalledItem[]; plugins: InstalledItem[] };
  /** what may be installed: id → allowed sha256 list (empty list: known, not pinned) */
  known?: { skills: Record<string, string[]>; plugins: Record<string, string[]> };
  gate?: {
    /** the gate's plugin files are present where plugins.load.paths points */
    installed: boolean;
    /** packs the user chose (desired state from the control plane) */
    expectedPacks?: string[];
    /** stop words a gate rule blocks */
    stopWordsBlocked?: string[];
    auditLog?: FileFact | null;
  };
  integrity?: { baseline: boolean; incidents: IntegrityIncident[] };
  openclawAudit?: { findings: OpenclawFinding[]; error?: string };
}

export type Outcome = { pass: true; evidence?: string } | { pass: false; evidence: string };

export interface Check {
  id: string;
  title: string;
  severity: Severity;
  category: string;
  frameworks: string[];
  remediation: string;
  /** null: the facts it needs are missing (not applicable) */
  run(s: Snapshot): Outcome | null;
}

export interface Finding {
  id: string;
  title: string;
  severity: Severity;
  status: Status;
  category: string;
  frameworks: string[];
  evidence: string;
  remediation: string;
  /** why an ACCEPTED finding is deliberate */
  reason?: string;
  source: "tropic" | "openclaw";
}

export interface Report {
  ts: string;
  score: number;
  counts: Record<Severity, number>;
  findings: Finding[];
  accepted: Finding[];
  passed: number;
  notApplicable: number;
}
