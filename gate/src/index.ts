// @tropic/gate: the tool-call decision engine and output redaction. Plain ESM, no OpenClaw imports:
// the OpenClaw plugin (issue 4) wraps Gate.decide / Gate.redact in its hooks.
export { Gate, type Decision, type GateConfig } from "./engine.ts";
export { type ToolCall, type Op, callToOps, normalisePhone } from "./context.ts";
export { redactSecrets, hasSecret, REDACTED, SECRET_KINDS, type Redaction } from "./redact.ts";
export { PACKS, type PackName, type PackRule } from "./packs/index.ts";
export { parseShell, ShellParseError } from "./shell/parse.ts";
export type { GateSettings } from "@tropic/policy";
