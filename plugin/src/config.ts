// The plugin's config (plugins.entries.tropic-gate.config in openclaw.json), validated here as well as
// by OpenClaw against openclaw.plugin.json's configSchema: a bad value names its field and is refused.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { GateSettings, PackName } from "@tropic/gate";

export interface PluginConfig {
  enabled: boolean;
  packs: PackName[];
  /** policy text by agent id ("*" = agents without their own) */
  policies: Record<string, string>;
  settings: GateSettings;
  gatewayToken?: string;
  sandbox: boolean;
  audit: { path: string; maxBytes: number; keep: number };
  approvalTimeoutMs: number;
  loadTimeoutMs: number;
}

export const DEFAULT_AUDIT_PATH = "~/.openclaw/.sondera/audit.log";

export interface PathEnv {
  home?: string;
  stateDir?: string;
  /** OpenClaw's own resolver (api.resolvePath) for anything else */
  resolve?: (p: string) => string;
}

/** `~/.openclaw/…` is the gateway's state directory (OPENCLAW_STATE_DIR when set), `~` the home
 * directory OpenClaw uses; relative paths resolve against the state directory. */
export function resolveStatePath(p: string, env: PathEnv): string {
  const home = env.home || homedir();
  const state = env.stateDir || join(home, ".openclaw");
  if (p === "~/.openclaw" || p.startsWith("~/.openclaw/")) return join(state, p.slice("~/.openclaw".length));
  if (p === "~" || p.startsWith("~/")) return join(home, p.slice(1));
  if (isAbsolute(p)) return p;
  return env.resolve ? env.resolve(p) : resolve(state, p);
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export function parseConfig(raw: unknown, env: PathEnv): { ok: true; config: PluginConfig } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const c = raw === undefined || raw === null ? {} : raw;
  if (!isObj(c)) return { ok: false, errors: ["config must be an object"] };
  const known = new Set([
    "enabled",
    "packs",
    "policies",
    "policyFiles",
    "settings",
    "phoneRules",
    "gatewayToken",
    "sandbox",
    "audit",
    "approvalTimeoutMs",
    "loadTimeoutMs",
  ]);
  for (const k of Object.keys(c)) if (!known.has(k)) errors.push(`${k}: unknown setting`);
  const bool = (v: unknown, field: string, dflt: boolean) => {
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") errors.push(`${field}: must be true or false`);
    return v === true;
  };
  const int = (v: unknown, field: string, dflt: number, min: number, max: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      errors.push(`${field}: must be a whole number from ${min} to ${max}`);
      return dflt;
    }
    return v;
  };

  const enabled = bool(c.enabled, "enabled", true);

  const packs: PackName[] = [];
  const p = c.packs === undefined ? {} : c.packs;
  if (!isObj(p)) errors.push("packs: must be an object like {base: true, system: false, owasp: false}");
  else {
    for (const k of Object.keys(p)) if (!["base", "system", "owasp"].includes(k)) errors.push(`packs.${k}: unknown pack (base, system, owasp)`);
    if (bool(p.base, "packs.base", true)) packs.push("base");
    if (bool(p.system, "packs.system", false)) packs.push("system");
    if (bool(p.owasp, "packs.owasp", false)) packs.push("owasp");
  }

  const policies: Record<string, string> = {};
  if (c.policies !== undefined) {
    if (!isObj(c.policies)) errors.push("policies: must map agent ids to policy text");
    else
      for (const [agent, text] of Object.entries(c.policies)) {
        if (typeof text !== "string") errors.push(`policies.${agent}: must be policy text`);
        else policies[agent] = text;
      }
  }
  if (c.policyFiles !== undefined) {
    if (!isObj(c.policyFiles)) errors.push("policyFiles: must map agent ids to file paths");
    else
      for (const [agent, file] of Object.entries(c.policyFiles)) {
        if (typeof file !== "string" || !file.trim()) {
          errors.push(`policyFiles.${agent}: must be a file path`);
          continue;
        }
        const path = resolveStatePath(file, env);
        try {
          policies[agent] = readFileSync(path, "utf8");
        } catch (e) {
          errors.push(`policyFiles.${agent}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
      }
  }
  for (const agent of Object.keys(policies)) if (!/^[\w*.-]{1,64}$/.test(agent)) errors.push(`policies: "${agent}" is not an agent id`);

  const s = c.settings === undefined ? {} : c.settings;
  const pr = c.phoneRules === undefined ? {} : c.phoneRules;
  const settings: GateSettings = {
    blockBrowser: false,
    blockCodeExecution: false,
    blockOsCommands: false,
    phoneMode: "unrestricted",
    phonePatterns: [],
  };
  if (!isObj(s)) errors.push("settings: must be an object");
  else {
    for (const k of Object.keys(s))
      if (!["blockBrowser", "blockCodeExecution", "blockOsCommands"].includes(k)) errors.push(`settings.${k}: unknown setting`);
    settings.blockBrowser = bool(s.blockBrowser, "settings.blockBrowser", false);
    settings.blockCodeExecution = bool(s.blockCodeExecution, "settings.blockCodeExecution", false);
    settings.blockOsCommands = bool(s.blockOsCommands, "settings.blockOsCommands", false);
  }
  if (!isObj(pr)) errors.push("phoneRules: must be an object");
  else {
    for (const k of Object.keys(pr)) if (!["mode", "patterns"].includes(k)) errors.push(`phoneRules.${k}: unknown setting`);
    if (pr.mode !== undefined) {
      if (!["unrestricted", "allowlist", "blocklist"].includes(pr.mode as string))
        errors.push("phoneRules.mode: must be unrestricted, allowlist or blocklist");
      else settings.phoneMode = pr.mode as GateSettings["phoneMode"];
    }
    if (pr.patterns !== undefined) {
      if (!Array.isArray(pr.patterns) || pr.patterns.some((x) => typeof x !== "string"))
        errors.push("phoneRules.patterns: must be a list of E.164 patterns");
      else settings.phonePatterns = pr.patterns as string[];
    }
  }

  let gatewayToken: string | undefined;
  if (c.gatewayToken !== undefined) {
    if (typeof c.gatewayToken !== "string") errors.push("gatewayToken: must be a string");
    else if (c.gatewayToken) gatewayToken = c.gatewayToken;
  }
  const sandbox = bool(c.sandbox, "sandbox", false);

  const a = c.audit === undefined ? {} : c.audit;
  const audit = { path: resolveStatePath(DEFAULT_AUDIT_PATH, env), maxBytes: 10 * 1024 * 1024, keep: 5 };
  if (!isObj(a)) errors.push("audit: must be an object");
  else {
    for (const k of Object.keys(a)) if (!["path", "maxBytes", "keep"].includes(k)) errors.push(`audit.${k}: unknown setting`);
    if (a.path !== undefined) {
      if (typeof a.path !== "string" || !a.path.trim()) errors.push("audit.path: must be a file path");
      else audit.path = resolveStatePath(a.path.trim(), env);
    }
    audit.maxBytes = int(a.maxBytes, "audit.maxBytes", audit.maxBytes, 4096, 2 ** 40);
    audit.keep = int(a.keep, "audit.keep", audit.keep, 1, 100);
  }
  const approvalTimeoutMs = int(c.approvalTimeoutMs, "approvalTimeoutMs", 120_000, 1000, 600_000);
  const loadTimeoutMs = int(c.loadTimeoutMs, "loadTimeoutMs", 15_000, 100, 120_000);

  if (errors.length) return { ok: false, errors };
  return { ok: true, config: { enabled, packs, policies, settings, gatewayToken, sandbox, audit, approvalTimeoutMs, loadTimeoutMs } };
}
