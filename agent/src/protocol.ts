// The management channel's wire protocol (JSON text frames over one WebSocket the agent dials out).
// Both sides import this file; the agent runs it with Node 24's type stripping, so only erasable
// TypeScript is allowed here and in every agent file (no enums, no parameter properties).

import type { Change, IntegrityIncident, Report } from "@tropic/hardening";

export const AGENT_PATH = "/api/v1/agent/connect";
export const AGENT_VERSION = "0.1.0";
/**
 * The close code of a control-plane node that is going away (a drain before it stops, docs/scaling.md):
 * the agent reconnects at once, spread over a second by jitter, rather than backing off; the load
 * balancer gives it another node.
 */
export const AGENT_GOING_AWAY = 4010;

export const COMMAND_KINDS = [
  "write_workspace",
  "register_agent",
  "remove_agent",
  "write_env",
  "read_gateway_token",
  "restart_gateway",
  "set_gate_config",
  "install_skill",
  "remove_skill",
  "status",
  "set_authorized_keys",
  "read_gate_audit",
  // A user's own machine (`byo`, issue 16; the host agent implements them, server/src/hosts/ sends them):
  // start_gateway {} / stop_gateway {}: start or stop its gateway service (the agent stays connected);
  // uninstall {}: ack, then remove services, users and files (what `tropic-host uninstall` does).
  "start_gateway",
  "stop_gateway",
  "uninstall",
  // Is the box safe? (issue 18, docs/hardening.md): run in the worker's child process, as the agent user.
  // audit AuditPayload → AuditResult; integrity {} → IntegrityResult; accept_integrity AcceptIntegrityPayload → {accepted}
  "audit",
  "integrity",
  "accept_integrity",
  // WhatsApp (agent/src/whatsapp.ts, docs/whatsapp.md): whatsapp_enable {policy} loads OpenClaw's channel
  // plugin; whatsapp_login {step: start|wait, force?, timeoutMs?, currentQrDataUrl?} → {connected, message,
  // qrDataUrl}; whatsapp_status {} / whatsapp_logout {} ask the gateway; whatsapp_policy {policy} writes
  // channels.whatsapp.{dmPolicy, allowFrom} where WhatsApp is enabled.
  "whatsapp_enable",
  "whatsapp_policy",
  "whatsapp_login",
  "whatsapp_status",
  "whatsapp_logout",
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** control plane → agent */
export interface CommandFrame {
  type: "command";
  id: string;
  kind: CommandKind;
  payload: Record<string, unknown>;
}

/** control plane → agent: every command queued when the agent said hello has been sent (the agent may start its gateway) */
export interface SyncedFrame {
  type: "synced";
}

/** agent → control plane: once per connection */
export interface HelloFrame {
  type: "hello";
  instanceId: string;
  version: string;
  status: AgentStatus;
}

/** agent → control plane: the result of one command (sent again, from the agent's record, if the command is re-delivered) */
export interface AckFrame {
  type: "ack";
  id: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** agent → control plane: health and metrics, every 15 s */
export interface StatusFrame {
  type: "status";
  status: AgentStatus;
}

export interface AgentStatus {
  agentPid: number;
  agentRssBytes: number;
  agentUptimeSec: number;
  gatewayPid: number | null;
  gatewayRssBytes: number | null;
  gatewayUptimeSec: number | null;
  gatewayRestarts: number;
  gatewayReady: boolean;
  /** set when the agent stopped the gateway because the tool-call gate did not load in it */
  gateFailure?: string | null;
  /** what the gateway is doing, as its supervisor sees it (agent/src/supervisor.ts) */
  gatewayPhase?: "starting" | "ready" | "restarting" | "crash-looping" | "failed" | "stopped";
  /** the last error line of the gateway's last run that ended, when it keeps exiting */
  gatewayLastError?: string | null;
  /** when the running gateway was started (ISO time), or null */
  gatewayStartedAt?: string | null;
  /** the agents the gateway says it runs (its `agents.list`), or null when it could not be asked */
  gatewayAgents?: string[] | null;
  /** OpenClaw's own words for a config on disk it refuses (`config.get` issues), empty when none */
  gatewayConfigIssues?: string[];
  /** the gate's switch as the running gateway has it (its applied config; the Skills drawer's Sondera entry), or null when it could not be asked */
  gate?: { enabled: boolean; packs: { base: boolean; system: boolean; owasp: boolean } } | null;
  /** the last incidents (the gate's config changed by something other than Tropic, and restored) */
  gateIncidents?: { at: string; what: string }[];
}

/**
 * agent → control plane: a live question, answered by an `answer` frame with the same id (nothing
 * queued or stored). `google_token`: a short-lived Google access token for the instance's owner
 * (docs/skills.md); the refresh token stays on the control plane.
 */
export interface AskFrame {
  type: "ask";
  id: string;
  what: "google_token";
}

/** control plane → agent: the answer to an `ask` (google_token: result {access_token, expires_at}) */
export interface AnswerFrame {
  type: "answer";
  id: string;
  ok: boolean;
  result?: unknown;
  error?: string;
  /** not_connected: the owner has no Google connection; unavailable: try again later */
  code?: "not_connected" | "unavailable";
}

export type AgentFrame = HelloFrame | AckFrame | StatusFrame | AskFrame;

/** `audit`: provision = harden (unless harden: false), baseline when none, audit, provision-audit.txt;
 * deploy = integrity check, audit, deploy-audit-<timestamp>.txt; daily / manual = integrity check and
 * audit (openclaw: also OpenClaw's own `security audit --json`), an events.log line. */
export interface AuditPayload {
  kind: "provision" | "deploy" | "daily" | "manual";
  harden?: boolean;
  openclaw?: boolean;
  /** check id → why the finding is deliberate (merged over Tropic's own, tropicAccepted()) */
  accepted?: Record<string, string>;
  /** the gate packs the user chose */
  packs?: string[];
}
export interface AuditResult {
  report: Report;
  /** what provisioning hardened (null: no hardening ran) */
  hardened: Change[] | null;
  /** baseline: whether one existed before this run (one is recorded when there was none) */
  integrity: { baseline: boolean; incidents: IntegrityIncident[] };
  /** the seed's files written, relative to the state directory (".secureclaw/provision-audit.txt") */
  files: string[];
}
/** `integrity`: baseline false when there was none (it is recorded now, no incidents). */
export interface IntegrityResult {
  baseline: boolean;
  incidents: IntegrityIncident[];
  checkedAt: string;
}
export interface AcceptIntegrityPayload {
  /** baseline names (IntegrityIncident.name); all current incidents when absent */
  names?: string[];
  reason: string;
}
export interface AcceptIntegrityResult {
  accepted: string[];
}
