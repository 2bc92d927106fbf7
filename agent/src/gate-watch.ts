// Fail closed when the gate is missing: OpenClaw starts a gateway even when a plugin it was told to
// load cannot be loaded, and then its tools run unchecked. The gate marks each gateway it loads into
// (~/.openclaw/.sondera/gate.json, written at registration); a gateway that has answered ready for
// GRACE_MS without a mark newer than its start is stopped, with the reason in the agent's status.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const GATE_GRACE_MS = 20_000;

export interface GateWatchInput {
  /** whether openclaw.json asks for the gate (gateExpected, read by the worker) */
  expected: boolean;
  /** when the gate last marked a gateway as loaded (gateMarkedAt, read by the worker), or 0 */
  markedAt: number;
  /** when the running gateway was started (ms since the epoch), or null when none runs */
  gatewayStartedAt: number | null;
  /** since when the gateway has answered ready, or null */
  readySince: number | null;
  now: number;
}

/** Whether openclaw.json asks for the gate (a user may switch it off: plugins.entries.tropic-gate.enabled false). */
export function gateExpected(configPath: string): boolean {
  try {
    const cfg = JSON.parse(readFileSync(configPath, "utf8")) as { plugins?: { entries?: Record<string, { enabled?: boolean }> } };
    return cfg.plugins?.entries?.["tropic-gate"]?.enabled !== false;
  } catch {
    return true;
  }
}

/** When the gate last marked a gateway as loaded, or 0. */
export function gateMarkedAt(stateDir: string): number {
  try {
    const m = JSON.parse(readFileSync(join(stateDir, ".sondera", "gate.json"), "utf8")) as { at?: unknown };
    return typeof m.at === "number" ? m.at : 0;
  } catch {
    return 0;
  }
}

/** null while all is well (or too early to tell); else why the gateway must be stopped. */
export function gateProblem(i: GateWatchInput): string | null {
  if (i.gatewayStartedAt === null || i.readySince === null || i.now - i.readySince < GATE_GRACE_MS) return null;
  if (!i.expected) return null;
  // A second of slack: the mark's clock is the same machine's, the start time is taken just before spawn.
  if (i.markedAt >= i.gatewayStartedAt - 1000) return null;
  return "the tool-call gate did not load in this gateway, so its tools would run unchecked: the gateway is stopped (fail closed). Its log (gateway.log) says why the plugin was not loaded";
}
