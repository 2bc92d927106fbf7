// Fail closed when the gate is missing: OpenClaw starts a gateway even when a plugin it was told to
// load cannot be loaded, and then its tools run unchecked. The worker asks the gateway itself
// (`plugins.list`: each plugin's runtime state, not a file the gateway's user could write); a gateway
// that has answered ready for GRACE_MS while saying the gate is not active is stopped, with the reason
// in the agent's status.
import { readFileSync } from "node:fs";

export const GATE_GRACE_MS = 20_000;

export interface GateWatchInput {
  /** whether openclaw.json asks for the gate (gateExpected, read by the worker) */
  expected: boolean;
  /** whether the running gateway says the gate is active (gateLoadedIn of its plugins.list), or null when it could not be asked */
  loaded: boolean | null;
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

/**
 * Whether a gateway's `plugins.list` answer has the gate active in its runtime (`runtime.state` is
 * "active"); false when it is missing or in any other state; null when the answer is not one.
 */
export function gateLoadedIn(list: unknown): boolean | null {
  const plugins = (list as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(plugins)) return null;
  const gate = plugins.find((p) => (p as { id?: unknown })?.id === "tropic-gate") as { runtime?: { state?: unknown } } | undefined;
  return gate?.runtime?.state === "active";
}

/** null while all is well (or too early to tell); else why the gateway must be stopped. */
export function gateProblem(i: GateWatchInput): string | null {
  if (i.gatewayStartedAt === null || i.readySince === null || i.now - i.readySince < GATE_GRACE_MS) return null;
  if (!i.expected) return null;
  // Only the gateway's own "not active" stops it; a gateway that could not be asked is asked again.
  if (i.loaded !== false) return null;
  return "the tool-call gate did not load in this gateway, so its tools would run unchecked: the gateway is stopped (fail closed). Its log (gateway.log) says why the plugin was not loaded";
}
