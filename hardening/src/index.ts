// @tropic/hardening: the host audit (checks over a snapshot of facts), the posture score, safe
// hardening and integrity baselines (the seed's SecureClaw role).
export { CHECKS, CHECK_IDS, COVERED_OPENCLAW } from "./checks.ts";
export { runAudit, score, formatReport, tropicAccepted, WEIGHTS, type AuditOptions } from "./engine.ts";
export { collect, parseProcNet, parseSshd, parseOpenclawAudit, stopWordsBlocked, VM_MASKED_UNITS, type CollectOptions } from "./collect.ts";
export { harden, type Change, type HardenResult } from "./harden.ts";
export {
  recordBaseline,
  checkIntegrity,
  acceptChanges,
  updateBaseline,
  logEvent,
  workspaceName,
  currentHashes,
  readBaseline,
  readEvents,
  writeAuditReport,
  treeHash,
  secureclawDir,
  ensureSecureclawDir,
  IDENTITY_FILES,
  type Baseline,
} from "./integrity.ts";
export { parseJson5 } from "./json5.ts";
export { SEED_SCRIPTS } from "./scripts.ts";
export type * from "./types.ts";
