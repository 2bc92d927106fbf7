// The gate inside OpenClaw. One engine per gateway process, shared by every agent (instance-wide);
// each agent's own policy applies to its calls. OpenClaw replaces the plugin instance when its
// config changes (hybrid reload) and calls register() again: the last good engine lives on
// globalThis, so an invalid new set is refused (loud log line) and the previous one keeps deciding.
// With no good set at all (first load failed), every call is denied: fail closed.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Decision, Gate, REDACTED, redactSecrets } from "@tropic/gate";
import { type AuditDecision, AuditLog } from "./audit.ts";
import { type PathEnv, type PluginConfig, parseConfig, resolveStatePath } from "./config.ts";

export const PLUGIN_ID = "tropic-gate";

/** The slice of OpenClaw's plugin API this plugin uses (openclaw/plugin-sdk types, kept local). */
export interface PluginApi {
  id?: string;
  registrationMode?: string;
  config?: Record<string, any>;
  pluginConfig?: Record<string, unknown>;
  logger?: { info?: (m: string) => void; warn?: (m: string) => void; error?: (m: string) => void };
  resolvePath?: (p: string) => string;
  on(hook: string, handler: (event: any, ctx: any) => any, opts?: { priority?: number; timeoutMs?: number }): void;
  registerAgentToolResultMiddleware?: (handler: (event: any, ctx: any) => any, opts?: { runtimes?: string[] }) => void;
}

interface Engine {
  gate: Gate;
  /** hash of what Gate.create depends on (packs, token, home, sandbox) */
  baseKey: string;
  /** hash of the whole config the engine was last loaded from */
  configKey: string;
  loadedAt: string;
}
interface Shared {
  engine: Engine | null;
  /** why there is no engine (every call is denied with it) */
  failure: string | null;
  audits: Map<string, AuditLog>;
  generation: number;
}
const SHARED_KEY = Symbol.for("tropic.gate.shared");
export function shared(): Shared {
  const g = globalThis as unknown as Record<symbol, Shared>;
  g[SHARED_KEY] ??= { engine: null, failure: null, audits: new Map(), generation: 0 };
  return g[SHARED_KEY];
}
/** Tests: forget the process-wide engine (as a gateway restart would). */
export function resetShared() {
  const s = shared();
  for (const a of s.audits.values()) a.close();
  s.audits.clear();
  s.engine = null;
  s.failure = null;
}

const hash = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
const MAX_DIGEST = 400;

export interface GateRuntime {
  /** resolves once this registration's rule set is decided (engine loaded, kept, or failed) */
  ready: Promise<void>;
  config: PluginConfig | null;
  audit: AuditLog | null;
}

export interface RegisterOptions {
  env?: NodeJS.ProcessEnv;
  /** how the engine is built (tests substitute a slow or broken one) */
  createGate?: (cfg: Parameters<typeof Gate.create>[0]) => Promise<Gate>;
}

export function registerGate(api: PluginApi, opts: RegisterOptions = {}): GateRuntime {
  const env = opts.env ?? process.env;
  const log = {
    info: (m: string) => (api.logger?.info ?? console.log)(`[tropic-gate] ${m}`),
    loud: (m: string) => (api.logger?.error ?? console.error)(`[tropic-gate] !!! ${m}`),
  };
  const pathEnv: PathEnv = {
    home: env.HOME || undefined,
    stateDir: env.OPENCLAW_STATE_DIR || undefined,
    resolve: api.resolvePath,
  };
  const st = shared();
  const generation = ++st.generation;
  const parsed = parseConfig(api.pluginConfig, pathEnv);
  const config = parsed.ok ? parsed.config : null;
  if (config && !config.enabled) {
    log.info("disabled by config (enabled: false): tool calls are not gated");
    return { ready: Promise.resolve(), config, audit: null };
  }

  // The audit log: from this config, or the last good one's, or the default path.
  const auditCfg = config?.audit ?? { path: resolveStatePath("~/.openclaw/.sondera/audit.log", pathEnv), maxBytes: 10 * 1024 * 1024, keep: 5 };
  let audit = st.audits.get(auditCfg.path);
  if (!audit) {
    audit = new AuditLog(auditCfg.path, { maxBytes: auditCfg.maxBytes, keep: auditCfg.keep });
    st.audits.set(auditCfg.path, audit);
  } else audit.opts = { ...audit.opts, maxBytes: auditCfg.maxBytes, keep: auditCfg.keep };
  const auditLog = audit;

  const home = pathEnv.home ?? (env.HOME || "/");
  const stateDir = pathEnv.stateDir ?? join(home, ".openclaw");
  const agentWorkspace = (agentId: string): string => {
    const c = api.config ?? {};
    const entry = c.agents?.entries?.[agentId] ?? (Array.isArray(c.agents?.list) ? c.agents.list.find((a: any) => a?.id === agentId) : undefined);
    const ws = entry?.workspace ?? c.agents?.defaults?.workspace ?? join(stateDir, "workspace");
    return resolveStatePath(String(ws), pathEnv);
  };

  // Load (or keep) the engine.
  const ready = (async () => {
    if (!parsed.ok) {
      refuse(`plugin config rejected: ${parsed.errors.join("; ")}`);
      return;
    }
    const cfg = parsed.config;
    const baseKey = hash({ packs: cfg.packs, token: cfg.gatewayToken ?? "", home, sandbox: cfg.sandbox, ws: agentWorkspace("main") });
    const configKey = hash({ baseKey, policies: cfg.policies, settings: cfg.settings });
    const cur = st.engine;
    if (cur && cur.configKey === configKey) return; // same rules (OpenClaw registers more than once)
    try {
      if (cur && cur.baseKey === baseKey) {
        cur.gate.reload(cfg.policies, cfg.settings); // atomic: throws and keeps the previous set on error
        st.engine = { ...cur, configKey, loadedAt: new Date().toISOString() };
      } else {
        const gate = await (opts.createGate ?? ((c) => Gate.create(c)))({
          packs: cfg.packs,
          policies: cfg.policies,
          settings: cfg.settings,
          gatewayToken: cfg.gatewayToken,
          home,
          workspace: agentWorkspace("main"),
          sandbox: cfg.sandbox,
        });
        if (generation < st.generation && st.engine) return; // a newer registration already loaded
        st.engine = { gate, baseKey, configKey, loadedAt: new Date().toISOString() };
      }
      st.failure = null;
      const agents = Object.keys(cfg.policies);
      log.info(
        `rules loaded: packs ${cfg.packs.join(",") || "none"}; policies for ${agents.length ? agents.join(", ") : "no agent"}; audit log ${auditLog.path}`,
      );
    } catch (e) {
      refuse((e as Error).message);
    }
  })().catch((e) => refuse(`unexpected: ${(e as Error).message}`));

  function refuse(why: string) {
    if (st.engine) {
      log.loud(`NEW RULE SET REFUSED, the last good set (loaded ${st.engine.loadedAt}) stays active. ${why}`);
    } else {
      st.failure = why;
      log.loud(`NO VALID RULE SET: every tool call is DENIED until the rules are fixed (fail closed). ${why}`);
    }
  }

  const loadTimeoutMs = config?.loadTimeoutMs ?? 15_000;
  const approvalTimeoutMs = config?.approvalTimeoutMs ?? 120_000;
  const gatewayToken = config?.gatewayToken;

  async function engine(): Promise<{ gate: Gate } | { error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ready.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), loadTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (st.engine) return { gate: st.engine.gate };
    if (timedOut) return { error: `the rules did not load within ${loadTimeoutMs} ms` };
    return { error: st.failure ?? "no rule set loaded" };
  }

  const redactText = (text: string, tool: string, gate: Gate | null) => {
    if (gate) return gate.redact(text, tool);
    // No engine: the pattern layer alone (redaction never fails open).
    return redactSecrets(text, { gatewayToken });
  };

  const digest = (params: unknown, gate: Gate | null) => {
    let json: string;
    try {
      json = JSON.stringify(params ?? {});
    } catch {
      json = "[unserialisable params]";
    }
    let text = redactText(json, "params", gate).text;
    if (text.length > MAX_DIGEST) text = `${text.slice(0, MAX_DIGEST)}…`;
    return { paramsDigest: text, paramsSha256: createHash("sha256").update(json).digest("hex") };
  };

  const write = (e: Omit<import("./audit.ts").AuditEntry, "ts">) => {
    try {
      auditLog.write({ ts: new Date().toISOString(), ...e });
    } catch {}
  };

  // ---- before every tool call -------------------------------------------------------------------
  api.on(
    "before_tool_call",
    async (
      event: { toolName: string; params?: Record<string, unknown>; toolCallId?: string },
      ctx: { agentId?: string; sessionKey?: string } = {},
    ) => {
      const t0 = performance.now();
      const agentId = ctx?.agentId || "main";
      const tool = String(event?.toolName ?? "");
      const base = { agentId, tool, toolCallId: event?.toolCallId, sessionKey: ctx?.sessionKey };
      let gate: Gate | null = null;
      let d: Decision;
      let error: string | undefined;
      try {
        const e = await engine();
        if ("error" in e) throw new Error(e.error);
        gate = e.gate;
        d = gate.decide({ tool, params: event?.params ?? {}, agentId, workspace: agentWorkspace(agentId) });
        if (d.rules.includes("tropic-fail-closed")) error = d.reason;
      } catch (err) {
        error = (err as Error).message;
        d = {
          decision: "deny",
          rules: ["tropic-fail-closed"],
          reason: `Blocked: the Tropic gate cannot evaluate tool calls right now (${error}); failing closed.`,
        };
      }
      const durationMs = +(performance.now() - t0).toFixed(3);
      const auditDecision: AuditDecision = d.decision === "deny" ? "DENY" : d.decision === "confirm" ? "CONFIRM" : "ALLOW";
      write({
        ...base,
        phase: "call",
        ...digest(event?.params, gate),
        decision: auditDecision,
        rules: d.rules,
        durationMs,
        reason: d.reason,
        ...(error ? { error } : {}),
      });
      if (d.decision === "deny") {
        return { block: true, blockReason: `${d.reason} (rule${d.rules.length > 1 ? "s" : ""}: ${d.rules.join(", ")})` };
      }
      if (d.decision === "confirm") {
        return {
          requireApproval: {
            title: clip(`Approve ${tool} for agent ${agentId}?`, 80),
            description: clip(`${describeCall(tool, event?.params ?? {}, (t) => redactText(t, tool, gate).text)}\nWhy: ${d.reason}`, 500),
            severity: "warning",
            timeoutMs: approvalTimeoutMs,
            allowedDecisions: ["allow-once", "deny"],
            onResolution: (resolution: string) => {
              write({
                ...base,
                phase: "approval",
                decision: resolution === "allow-once" || resolution === "allow-always" ? "ALLOW" : "DENY",
                rules: d.rules,
                durationMs: 0,
                approval: resolution,
              });
            },
          },
        };
      }
      return undefined;
    },
    { priority: 1000 },
  );

  // ---- what the model sees: rewrite the tool result before it goes back to the model -----------
  const redactedCalls = new Set<string>();
  const middleware = async (event: { toolName: string; toolCallId?: string; result?: any }, ctx: { agentId?: string; sessionKey?: string } = {}) => {
    const t0 = performance.now();
    const gate = st.engine?.gate ?? null;
    const kinds: string[] = [];
    const rules = new Set<string>();
    const result = rewrite(event?.result, (text) => {
      const r = redactText(text, event.toolName, gate);
      for (const x of r.redactions) {
        kinds.push(x.kind);
        rules.add(x.rule);
      }
      return r.text;
    });
    if (!kinds.length) return undefined;
    if (event.toolCallId) {
      redactedCalls.add(event.toolCallId);
      if (redactedCalls.size > 10_000) redactedCalls.clear();
    }
    write({
      phase: "result",
      agentId: ctx?.agentId || "main",
      tool: event.toolName,
      toolCallId: event.toolCallId,
      sessionKey: ctx?.sessionKey,
      decision: "REDACT",
      rules: [...rules],
      redactions: [...new Set(kinds)],
      durationMs: +(performance.now() - t0).toFixed(3),
    });
    return { result };
  };
  if (api.registerAgentToolResultMiddleware) api.registerAgentToolResultMiddleware(middleware, { runtimes: ["openclaw", "codex"] });
  else log.loud("this OpenClaw has no tool-result middleware: the model may see unredacted tool output (the transcript is still redacted)");

  // ---- what is stored: the transcript write (synchronous hook) ----------------------------------
  api.on(
    "tool_result_persist",
    (event: { toolName?: string; toolCallId?: string; message?: any }, ctx: { agentId?: string; sessionKey?: string } = {}) => {
      const t0 = performance.now();
      const gate = st.engine?.gate ?? null;
      const kinds: string[] = [];
      const rules = new Set<string>();
      const message = rewrite(event?.message, (text) => {
        const r = redactText(text, event?.toolName ?? "tool", gate);
        for (const x of r.redactions) {
          kinds.push(x.kind);
          rules.add(x.rule);
        }
        return r.text;
      });
      if (!kinds.length) return undefined;
      if (!event.toolCallId || !redactedCalls.has(event.toolCallId))
        write({
          phase: "result",
          agentId: ctx?.agentId || "main",
          tool: event?.toolName ?? "tool",
          toolCallId: event?.toolCallId,
          sessionKey: ctx?.sessionKey,
          decision: "REDACT",
          rules: [...rules],
          redactions: [...new Set(kinds)],
          durationMs: +(performance.now() - t0).toFixed(3),
        });
      return { message };
    },
    { priority: 1000 },
  );

  return { ready, config, audit: auditLog };
}

/** Every string inside a tool result / transcript message (content parts, details), rewritten. */
export function rewrite<T>(value: T, fn: (s: string) => string, depth = 0): T {
  if (depth > 12) return value;
  if (typeof value === "string") {
    if (value.length < 8) return value;
    const out = fn(value);
    return (out === value ? value : out) as T;
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = rewrite(v, fn, depth + 1);
      if (r !== v) changed = true;
      return r;
    });
    return (changed ? out : value) as T;
  }
  if (value && typeof value === "object") {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // binary payloads (images) are not text
      const r = k === "data" && typeof v === "string" && v.length > 4096 ? v : rewrite(v, fn, depth + 1);
      if (r !== v) changed = true;
      out[k] = r;
    }
    return (changed ? out : value) as T;
  }
  return value;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** What the call would do, in words, for the approval prompt (secrets redacted). */
export function describeCall(tool: string, p: Record<string, unknown>, redact: (s: string) => string): string {
  const s = (v: unknown) => redact(typeof v === "string" ? v : JSON.stringify(v ?? ""));
  switch (tool) {
    case "exec":
      return `Run the shell command \`${s(p.command)}\`${p.workdir ? ` in ${s(p.workdir)}` : ""}${p.background ? " in the background" : ""}.`;
    case "read":
      return `Read the file ${s(p.path)}.`;
    case "write":
      return `Write ${typeof p.content === "string" ? p.content.length : 0} characters to ${s(p.path)}.`;
    case "edit":
      return `Edit ${s(p.path)} (${Array.isArray(p.edits) ? p.edits.length : 0} change(s)).`;
    case "web_fetch":
      return `Fetch ${s(p.url)}.`;
    case "message":
      return `${s(p.action || "send")} a ${s(p.channel || "")} message to ${s(p.target || p.to || "")}: "${clip(s(p.message ?? p.text ?? ""), 160)}".`;
    default:
      return `Call ${tool} with ${clip(s(p), 300)}.`;
  }
}

export { REDACTED };
