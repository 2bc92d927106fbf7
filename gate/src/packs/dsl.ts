// Pack rules: a RuleSpec plus examples. Every rule carries at least one call it must deny (or
// confirm / redact) and one near-miss it must let through; the test suite runs them all.

import type { Cond, Effect, RuleSpec } from "@tropic/policy";
import type { ToolCall } from "../context.ts";

/** A string is shorthand for an `exec` call with that command; for redaction rules, a tool output. */
export type Example = string | ToolCall;
export interface PackRule extends RuleSpec {
  pack: "base" | "system" | "owasp";
  deny: Example[];
  allow: Example[];
}

export const rule = (
  pack: PackRule["pack"],
  id: string,
  description: string,
  any: Cond[],
  deny: Example[],
  allow: Example[],
  effect: Effect = "deny",
): PackRule => ({ pack, id, effect, description, any, deny, allow });

export const rd = (path: string): ToolCall => ({ tool: "read", params: { path } });
export const wr = (path: string, content = "x"): ToolCall => ({ tool: "write", params: { path, content } });
export const ed = (path: string, newText: string): ToolCall => ({ tool: "edit", params: { path, edits: [{ oldText: "a", newText }] } });
export const fetch = (url: string): ToolCall => ({ tool: "web_fetch", params: { url } });
export const msg = (channel: string, target: string, message: string): ToolCall => ({
  tool: "message",
  params: { action: "send", channel, target, message },
});
export const tool = (name: string, params: Record<string, unknown> = {}): ToolCall => ({ tool: name, params });
