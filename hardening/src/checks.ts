// Tropic's audit checks: pure functions over a Snapshot, written against OpenClaw 2026.9.6's config keys
// (gateway.bind modes, gateway.auth.*, discovery.mdns.mode, tools.exec.mode, agents.defaults.sandbox.mode,
// channels.*.dmPolicy, plugins.*), not the retired keys the public SecureClaw reads. A check returns
// null when its facts were not gathered (not applicable), never a pass.
import { hasSecret, redactSecrets } from "@tropic/gate/redact.ts";
import type { Check, FileFact, FileRole, Outcome, Snapshot } from "./types.ts";

// ---- frameworks (the seven SecureClaw maps to) ----
// OWASP Top 10 for Agentic Applications (ASI01–ASI10), MITRE ATLAS techniques, MITRE ATLAS's OpenClaw
// investigation, NIST AI 100-2 E2025 (adversarial ML taxonomy), CSA MAESTRO layers, CoSAI, and the CSA
// Singapore agentic-AI addendum.
const FW = {
  exposure: [
    "OWASP ASI03",
    "ATLAS AML.T0049",
    "ATLAS-OpenClaw: exposed gateways",
    "NIST AI 100-2: availability",
    "MAESTRO L4",
    "CoSAI: secure deployment",
    "CSA-SG: access control",
  ],
  auth: [
    "OWASP ASI03",
    "ATLAS AML.T0012",
    "ATLAS-OpenClaw: exposed gateways",
    "NIST AI 100-2: privacy compromise",
    "MAESTRO L4",
    "CoSAI: identity",
    "CSA-SG: access control",
  ],
  files: ["OWASP ASI03", "ATLAS AML.T0055", "NIST AI 100-2: privacy compromise", "MAESTRO L4", "CoSAI: secure deployment", "CSA-SG: data protection"],
  secrets: [
    "OWASP ASI03",
    "ATLAS AML.T0055",
    "ATLAS AML.T0057",
    "ATLAS-OpenClaw: credential theft",
    "NIST AI 100-2: privacy compromise",
    "MAESTRO L2",
    "CSA-SG: data protection",
  ],
  exec: [
    "OWASP ASI02",
    "OWASP ASI05",
    "ATLAS AML.T0050",
    "ATLAS AML.T0051",
    "NIST AI 100-2: misuse enablement",
    "MAESTRO L3",
    "CoSAI: agent permissions",
  ],
  sandbox: [
    "OWASP ASI05",
    "OWASP ASI10",
    "ATLAS AML.T0050",
    "NIST AI 100-2: integrity violation",
    "MAESTRO L4",
    "CoSAI: isolation",
    "CSA-SG: containment",
  ],
  channels: ["OWASP ASI01", "OWASP ASI09", "ATLAS AML.T0051", "NIST AI 100-2: indirect prompt injection", "MAESTRO L7", "CSA-SG: human oversight"],
  supply: [
    "OWASP ASI04",
    "ATLAS AML.T0010",
    "ATLAS AML.T0053",
    "ATLAS-OpenClaw: malicious skills",
    "NIST AI 100-2: supply chain",
    "MAESTRO L7",
    "CoSAI: software supply chain",
  ],
  gate: [
    "OWASP ASI02",
    "OWASP ASI10",
    "ATLAS AML.T0051",
    "NIST AI 100-2: misuse enablement",
    "MAESTRO L6",
    "CoSAI: agent permissions",
    "CSA-SG: human oversight",
  ],
  integrity: ["OWASP ASI06", "ATLAS AML.T0080", "NIST AI 100-2: integrity violation", "MAESTRO L2", "CSA-SG: monitoring"],
  os: ["OWASP ASI03", "ATLAS AML.T0049", "NIST AI 100-2: availability", "MAESTRO L4", "CoSAI: secure deployment"],
  monitor: ["OWASP ASI08", "OWASP ASI10", "NIST AI 100-2: integrity violation", "MAESTRO L5", "CSA-SG: monitoring"],
  browser: ["OWASP ASI02", "ATLAS AML.T0049", "NIST AI 100-2: misuse enablement", "MAESTRO L3", "CoSAI: agent permissions"],
};

// ---- helpers ----
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
export function get(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of path.split(".")) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
const ok = (evidence?: string): Outcome => ({ pass: true, evidence });
const bad = (evidence: string): Outcome => ({ pass: false, evidence });
export const oct = (m: number) => `0${(m & 0o7777).toString(8).padStart(3, "0")}`;
const withConfig = (s: Snapshot, f: (c: Obj) => Outcome): Outcome | null => (s.config ? f(s.config) : null);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);
/** a value that is a reference to a secret kept elsewhere, not the secret */
const isRef = (v: unknown) => isObj(v) || (typeof v === "string" && /^\$\{?[A-Z_][A-Z0-9_]*\}?$/.test(v));

function agents(c: Obj): { id: string; a: Obj }[] {
  const out: { id: string; a: Obj }[] = [];
  const e = get(c, "agents.entries");
  if (isObj(e)) for (const [id, a] of Object.entries(e)) if (isObj(a)) out.push({ id, a });
  const l = get(c, "agents.list");
  if (Array.isArray(l)) for (const a of l) if (isObj(a)) out.push({ id: String(a.id ?? "?"), a });
  return out;
}
/** every DM/group policy holder: channels.<p> and channels.<p>.accounts.<id> */
function channelScopes(c: Obj): { name: string; ch: Obj }[] {
  const out: { name: string; ch: Obj }[] = [];
  const chs = get(c, "channels");
  if (!isObj(chs)) return out;
  for (const [p, ch] of Object.entries(chs)) {
    if (!isObj(ch)) continue;
    out.push({ name: `channels.${p}`, ch });
    if (isObj(ch.accounts))
      for (const [a, acc] of Object.entries(ch.accounts)) if (isObj(acc)) out.push({ name: `channels.${p}.accounts.${a}`, ch: acc });
  }
  return out;
}
const gatewayExposed = (c: Obj) => {
  const b = str(get(c, "gateway.bind")) ?? "loopback";
  if (b === "custom") return !["127.0.0.1", "localhost", "::1"].includes(str(get(c, "gateway.customBindHost")) ?? "");
  return !["loopback", "127.0.0.1", "localhost", "::1"].includes(b);
};

/** group/other permission bits the role must not have */
function fileMode(s: Snapshot, role: FileRole, mask: number, what: string): Outcome | null {
  const f = s.files?.[role];
  if (f === undefined) return null;
  if (f === null) return ok(`no ${what}`);
  return f.mode & mask ? bad(`${f.path} has mode ${oct(f.mode)}`) : ok(`${f.path} has mode ${oct(f.mode)}`);
}

const PLACEHOLDERS = new Set(["", "undefined", "null", "changeme", "change-me", "your-token", "token", "secret", "password", "test", "xxx"]);
const LOOPBACK = (a: string) => a.startsWith("127.") || a === "::1" || a.startsWith("::ffff:127.");

function secretHits(files: Record<string, string> | undefined): Outcome | null {
  // no such file on the host: nothing was scanned, so nothing is claimed
  if (!files || !Object.keys(files).length) return null;
  const hits: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    // one scan of the whole file first; line by line only where there is something to place
    if (!hasSecret(text)) continue;
    const before = hits.length;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const r = redactSecrets(lines[i]!);
      for (const k of new Set(r.redactions.map((x) => x.kind))) hits.push(`${name}:${i + 1} (${k})`);
    }
    // a secret spread over several lines (a key block, a name/value pair) is placed by file
    if (hits.length === before) for (const k of new Set(redactSecrets(text).redactions.map((x) => x.kind))) hits.push(`${name} (${k})`);
  }
  const n = Object.keys(files).length;
  return hits.length
    ? bad(`secret found at ${hits.slice(0, 10).join(", ")}${hits.length > 10 ? ` and ${hits.length - 10} more` : ""}`)
    : ok(`${n} file(s) scanned, no secret found`);
}

const STOP_WORDS = ["stop", "abort", "halt", "interrupt", "exit"];
const SAFE_PORTS_VM = new Set([22, 80, 443]);

function c(
  id: string,
  severity: Check["severity"],
  category: string,
  frameworks: string[],
  title: string,
  remediation: string,
  run: Check["run"],
): Check {
  return { id, severity, category, frameworks, title, remediation, run };
}

export const CHECKS: Check[] = [
  // ---------------- gateway exposure and authentication ----------------
  c(
    "gateway.bind.beyond_loopback",
    "CRIT",
    "gateway",
    FW.exposure,
    "Gateway listens beyond loopback",
    'Set gateway.bind to "loopback" (openclaw config set gateway.bind loopback) and reach it through the instance agent\'s tunnel; restart the gateway.',
    (s) =>
      withConfig(s, (c) => {
        const b = str(get(c, "gateway.bind")) ?? "loopback";
        return gatewayExposed(c)
          ? bad(`gateway.bind is "${b}"${b === "custom" ? ` (customBindHost ${str(get(c, "gateway.customBindHost"))})` : ""}`)
          : ok(`gateway.bind is "${b}"`);
      }),
  ),
  c(
    "gateway.bind.host_alias",
    "LOW",
    "gateway",
    FW.exposure,
    "gateway.bind holds a host address instead of a bind mode",
    'Use a bind mode (loopback, lan, tailnet, custom, auto): replace "127.0.0.1"/"localhost" with "loopback"; `openclaw doctor --fix` migrates it.',
    (s) =>
      withConfig(s, (c) => {
        const b = str(get(c, "gateway.bind"));
        return b && ["0.0.0.0", "127.0.0.1", "localhost", "::", "::1"].includes(b)
          ? bad(`gateway.bind is the host alias "${b}"`)
          : ok(`gateway.bind is ${b ? `"${b}"` : "unset (loopback)"}`);
      }),
  ),
  c(
    "gateway.auth.none",
    "CRIT",
    "gateway",
    FW.auth,
    "Gateway accepts unauthenticated connections",
    'Set gateway.auth.mode to "token" with a random token of at least 32 characters (openssl rand -hex 32).',
    (s) =>
      withConfig(s, (c) =>
        str(get(c, "gateway.auth.mode")) === "none"
          ? bad('gateway.auth.mode is "none"')
          : ok(`gateway.auth.mode is "${str(get(c, "gateway.auth.mode")) ?? "token"}"`),
      ),
  ),
  c(
    "gateway.auth.token_placeholder",
    "CRIT",
    "gateway",
    FW.auth,
    "Gateway token is blank or a placeholder",
    "Generate a token: openssl rand -hex 32, set it as gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN) and restart the gateway.",
    (s) =>
      withConfig(s, (c) => {
        if ((str(get(c, "gateway.auth.mode")) ?? "token") !== "token") return ok("token auth not in use");
        const t = get(c, "gateway.auth.token");
        if (t === undefined || isRef(t)) return ok("token comes from the environment or a secret reference");
        return PLACEHOLDERS.has(String(t).trim().toLowerCase())
          ? bad(`gateway.auth.token is "${String(t).slice(0, 12)}"`)
          : ok("token is not a placeholder");
      }),
  ),
  c(
    "gateway.auth.token_short",
    "HIGH",
    "gateway",
    FW.auth,
    "Gateway token is shorter than 32 characters",
    "Replace gateway.auth.token with a 64-hex-character random token (openssl rand -hex 32); clients must be given the new token.",
    (s) =>
      withConfig(s, (c) => {
        if ((str(get(c, "gateway.auth.mode")) ?? "token") !== "token") return ok("token auth not in use");
        const t = get(c, "gateway.auth.token");
        if (t === undefined || isRef(t)) return ok("token comes from the environment or a secret reference");
        const len = String(t).length;
        return len < 32 ? bad(`gateway.auth.token has ${len} characters`) : ok(`gateway.auth.token has ${len} characters`);
      }),
  ),
  c(
    "gateway.auth.password_short",
    "HIGH",
    "gateway",
    FW.auth,
    "Gateway password is shorter than 24 characters",
    'Prefer gateway.auth.mode "token"; if a password is needed, use at least 24 random characters via OPENCLAW_GATEWAY_PASSWORD.',
    (s) =>
      withConfig(s, (c) => {
        if (str(get(c, "gateway.auth.mode")) !== "password") return ok("password auth not in use");
        const p = get(c, "gateway.auth.password");
        if (p === undefined || isRef(p)) return ok("password comes from the environment or a secret reference");
        return String(p).length < 24 ? bad(`gateway.auth.password has ${String(p).length} characters`) : ok("password is long enough");
      }),
  ),
  c(
    "gateway.auth.password_in_config",
    "MED",
    "gateway",
    FW.secrets,
    "Gateway password stored in openclaw.json",
    "Move the password to OPENCLAW_GATEWAY_PASSWORD in the state directory's .env (mode 0600) or a SecretRef, and delete gateway.auth.password.",
    (s) =>
      withConfig(s, (c) => {
        const p = get(c, "gateway.auth.password");
        return typeof p === "string" && p && !isRef(p)
          ? bad("gateway.auth.password is a literal in openclaw.json")
          : ok("no literal gateway password");
      }),
  ),
  c(
    "gateway.auth.trusted_proxy_unsafe",
    "CRIT",
    "gateway",
    FW.auth,
    "Trusted-proxy auth without trusted proxies or user header",
    'Set gateway.trustedProxies to the proxy\'s addresses and gateway.auth.trustedProxy.userHeader, or use gateway.auth.mode "token".',
    (s) =>
      withConfig(s, (c) => {
        if (str(get(c, "gateway.auth.mode")) !== "trusted-proxy") return ok("trusted-proxy auth not in use");
        const proxies = get(c, "gateway.trustedProxies");
        const header = get(c, "gateway.auth.trustedProxy.userHeader");
        const miss = [
          !(Array.isArray(proxies) && proxies.length) && "gateway.trustedProxies",
          !header && "gateway.auth.trustedProxy.userHeader",
        ].filter(Boolean);
        return miss.length ? bad(`trusted-proxy auth without ${miss.join(" and ")}`) : ok("trusted proxies and user header set");
      }),
  ),
  c(
    "gateway.auth.rate_limit",
    "MED",
    "gateway",
    FW.auth,
    "Exposed gateway without auth rate limiting",
    "Set gateway.auth.rateLimit {maxAttempts: 10, windowMs: 60000, lockoutMs: 300000}, or bind the gateway to loopback.",
    (s) =>
      withConfig(s, (c) => {
        if (!gatewayExposed(c)) return ok("gateway is loopback only");
        return isObj(get(c, "gateway.auth.rateLimit"))
          ? ok("gateway.auth.rateLimit is set")
          : bad("gateway is exposed and gateway.auth.rateLimit is unset");
      }),
  ),
  c(
    "gateway.tailscale.funnel",
    "CRIT",
    "gateway",
    FW.exposure,
    "Gateway published to the internet by Tailscale Funnel",
    'Set gateway.tailscale.mode to "off" (or "serve" for tailnet-only access).',
    (s) =>
      withConfig(s, (c) =>
        str(get(c, "gateway.tailscale.mode")) === "funnel"
          ? bad('gateway.tailscale.mode is "funnel"')
          : ok(`gateway.tailscale.mode is "${str(get(c, "gateway.tailscale.mode")) ?? "off"}"`),
      ),
  ),
  c(
    "gateway.control_ui.origins_wildcard",
    "HIGH",
    "gateway",
    FW.exposure,
    'Control UI accepts any browser origin ("*")',
    'List the exact origins in gateway.controlUi.allowedOrigins (Tropic\'s per-instance origin) instead of "*".',
    (s) =>
      withConfig(s, (c) => {
        const o = get(c, "gateway.controlUi.allowedOrigins");
        return Array.isArray(o) && o.includes("*") ? bad('gateway.controlUi.allowedOrigins contains "*"') : ok("no wildcard origin");
      }),
  ),
  c(
    "gateway.control_ui.host_header_fallback",
    "HIGH",
    "gateway",
    FW.exposure,
    "Control UI trusts the Host header for its origin (DNS rebinding)",
    "Delete gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback (or set it to false) and list allowedOrigins.",
    (s) =>
      withConfig(s, (c) =>
        get(c, "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback") === true
          ? bad("gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback is true")
          : ok("host-header fallback off"),
      ),
  ),
  c(
    "gateway.real_ip_fallback",
    "MED",
    "gateway",
    FW.exposure,
    "Gateway trusts X-Real-IP as a fallback client address",
    "Set gateway.allowRealIpFallback to false and list real proxies in gateway.trustedProxies.",
    (s) =>
      withConfig(s, (c) =>
        get(c, "gateway.allowRealIpFallback") === true ? bad("gateway.allowRealIpFallback is true") : ok("real-IP fallback off"),
      ),
  ),
  c(
    "gateway.http.session_key_override",
    "LOW",
    "gateway",
    FW.auth,
    "HTTP API callers may choose any session key",
    "Set gateway.http.allowSessionKeyOverride to false unless an integration needs it.",
    (s) =>
      withConfig(s, (c) =>
        get(c, "gateway.http.allowSessionKeyOverride") === true
          ? bad("gateway.http.allowSessionKeyOverride is true")
          : ok("session key override off"),
      ),
  ),
  c(
    "gateway.http.dangerous_tools",
    "HIGH",
    "gateway",
    FW.exec,
    "Dangerous tools re-enabled over the HTTP tools API",
    "Remove exec, process, apply_patch, write and edit from gateway.tools.allow.",
    (s) =>
      withConfig(s, (c) => {
        const a = get(c, "gateway.tools.allow");
        const d = Array.isArray(a) ? a.filter((t) => ["exec", "process", "apply_patch", "write", "edit", "*"].includes(String(t))) : [];
        return d.length ? bad(`gateway.tools.allow includes ${d.join(", ")}`) : ok("no dangerous tool allowed over HTTP");
      }),
  ),
  c(
    "gateway.hooks.token_reuse",
    "CRIT",
    "gateway",
    FW.auth,
    "Hook token is the gateway token",
    "Give hooks.token its own random value (openssl rand -hex 32); the hook ingress must not unlock the gateway.",
    (s) =>
      withConfig(s, (c) => {
        const h = get(c, "hooks.token");
        const g = get(c, "gateway.auth.token");
        return typeof h === "string" && h && h === g ? bad("hooks.token equals gateway.auth.token") : ok("hook token is separate");
      }),
  ),
  c(
    "gateway.hooks.token_short",
    "MED",
    "gateway",
    FW.auth,
    "Hook token shorter than 32 characters",
    "Set hooks.token to a 64-hex-character random value.",
    (s) =>
      withConfig(s, (c) => {
        const h = get(c, "hooks.token");
        return typeof h === "string" && h.length < 32 ? bad(`hooks.token has ${h.length} characters`) : ok("hook token absent or long enough");
      }),
  ),
  c(
    "gateway.hooks.path_root",
    "HIGH",
    "gateway",
    FW.exposure,
    "Hook ingress path is /",
    'Set hooks.path to a dedicated path such as "/hooks".',
    (s) => withConfig(s, (c) => (get(c, "hooks.path") === "/" ? bad('hooks.path is "/"') : ok("hook path is not the root"))),
  ),
  c(
    "gateway.config.dangerous_flags",
    "MED",
    "gateway",
    FW.exposure,
    "A dangerous/insecure flag is enabled in the config",
    "Remove every key whose name starts with dangerously or allowInsecure unless a documented reason requires it (then accept the finding).",
    (s) =>
      withConfig(s, (c) => {
        const hits: string[] = [];
        const walk = (o: unknown, p: string, depth: number) => {
          if (!isObj(o) || depth > 8) return;
          for (const [k, v] of Object.entries(o)) {
            const path = p ? `${p}.${k}` : k;
            if (/^(dangerously|allowInsecure)/.test(k) && v === true && path !== "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback")
              hits.push(path);
            walk(v, path, depth + 1);
          }
        };
        walk(c, "", 0);
        return hits.length ? bad(`enabled: ${hits.join(", ")}`) : ok("no dangerous flag enabled");
      }),
  ),
  c(
    "gateway.discovery.mdns_on",
    "LOW",
    "gateway",
    FW.exposure,
    "The gateway advertises itself on the LAN (mDNS)",
    'Set discovery.mdns.mode to "off" (or OPENCLAW_DISABLE_BONJOUR=1); a managed instance is reached through the agent\'s tunnel.',
    (s) =>
      withConfig(s, (c) => {
        const m = str(get(c, "discovery.mdns.mode")) ?? "minimal";
        return m === "off" ? ok('discovery.mdns.mode is "off"') : bad(`discovery.mdns.mode is "${m}"`);
      }),
  ),
  c(
    "gateway.discovery.mdns_full",
    "MED",
    "gateway",
    FW.exposure,
    "mDNS publishes SSH port and CLI path (full mode)",
    'Set discovery.mdns.mode to "off" (or at least "minimal").',
    (s) => withConfig(s, (c) => (str(get(c, "discovery.mdns.mode")) === "full" ? bad('discovery.mdns.mode is "full"') : ok("mDNS not in full mode"))),
  ),
  c(
    "gateway.retired_keys",
    "LOW",
    "gateway",
    FW.exposure,
    "Config carries retired keys that OpenClaw 2026.9.6 ignores",
    "Move them to their current keys (gateway.mdns → discovery.mdns.mode, exec.* → tools.exec.mode, sandbox.mode → agents.defaults.sandbox.mode) or run `openclaw doctor --fix`.",
    (s) =>
      withConfig(s, (c) => {
        const found = [
          "gateway.mdns",
          "gateway.controlUi.dangerouslyDisableDeviceAuth",
          "exec.approvals",
          "sandbox.mode",
          "logging.redactSensitive",
          "tools.exec.security",
          "tools.exec.ask",
        ].filter((k) => get(c, k) !== undefined);
        return found.length ? bad(`retired keys present: ${found.join(", ")}`) : ok("no retired key");
      }),
  ),

  // ---------------- tools, exec, sandbox ----------------
  c(
    "tools.exec.mode_full",
    "HIGH",
    "tools",
    FW.exec,
    "Host exec runs without policy prompts (tools.exec.mode full, OpenClaw's default on gateway hosts)",
    'Set tools.exec.mode to "ask" or "allowlist"; on a Tropic instance the gate decides every exec call first (accepted while it is enabled), OpenClaw\'s approvals are a second layer.',
    (s) =>
      withConfig(s, (c) => {
        const mode = str(get(c, "tools.exec.mode"));
        const sec = str(get(c, "tools.exec.security"));
        if (mode) return mode === "full" ? bad('tools.exec.mode is "full"') : ok(`tools.exec.mode is "${mode}"`);
        if (sec) return sec === "full" ? bad('tools.exec.security is "full" (legacy)') : ok(`tools.exec.security is "${sec}" (legacy)`);
        // docs/tools/exec-approvals.md: security defaults to full for gateway/node hosts, deny for sandbox
        if (get(c, "tools.exec.host") === "sandbox") return ok("exec host is the sandbox (default deny)");
        return bad("tools.exec.mode unset: OpenClaw's default for gateway hosts is full (no allowlist, no prompts)");
      }),
  ),
  c(
    "tools.exec.agent_mode_full",
    "HIGH",
    "tools",
    FW.exec,
    "An agent overrides exec to full mode",
    'Remove agents.entries.<id>.tools.exec.mode "full" (or set "ask").',
    (s) =>
      withConfig(s, (c) => {
        const hits = agents(c)
          .filter(({ a }) => get(a, "tools.exec.mode") === "full" || get(a, "tools.exec.security") === "full")
          .map(({ id }) => id);
        return hits.length ? bad(`agents with exec mode full: ${hits.join(", ")}`) : ok("no agent overrides exec to full");
      }),
  ),
  c(
    "tools.elevated.wildcard",
    "CRIT",
    "tools",
    FW.exec,
    "Elevated tools approved for every sender",
    'Remove "*" from tools.elevated.allowFrom.<provider>; list the owner\'s sender ids only.',
    (s) =>
      withConfig(s, (c) => {
        const af = get(c, "tools.elevated.allowFrom");
        const hits = isObj(af)
          ? Object.entries(af)
              .filter(([, v]) => Array.isArray(v) && v.includes("*"))
              .map(([k]) => k)
          : [];
        return hits.length ? bad(`tools.elevated.allowFrom has "*" for ${hits.join(", ")}`) : ok("no wildcard elevated sender");
      }),
  ),
  c(
    "tools.fs.workspace_only_off",
    "MED",
    "tools",
    FW.sandbox,
    "File tools may read and write outside the workspace",
    "Set tools.fs.workspaceOnly to true (OpenClaw's hardened baseline); it is off unless set.",
    (s) =>
      withConfig(s, (c) => {
        const v = get(c, "tools.fs.workspaceOnly");
        return v === true
          ? ok("tools.fs.workspaceOnly is true")
          : bad(`tools.fs.workspaceOnly is ${v === undefined ? "unset (default false)" : String(v)}`);
      }),
  ),
  c(
    "tools.exec.strict_inline_eval_off",
    "LOW",
    "tools",
    FW.exec,
    "Inline interpreter code (python -c, node -e) is not re-approved",
    "Set tools.exec.strictInlineEval to true.",
    (s) =>
      withConfig(s, (c) =>
        get(c, "tools.exec.strictInlineEval") === false ? bad("tools.exec.strictInlineEval is false") : ok("strict inline eval on (or default)"),
      ),
  ),
  c(
    "sandbox.agent_mode_off",
    "MED",
    "sandbox",
    FW.sandbox,
    "OpenClaw's own tool sandbox is off",
    'Set agents.defaults.sandbox.mode to "non-main" or "all" where Docker is available; otherwise accept this finding with the host isolation as the reason.',
    (s) =>
      withConfig(s, (c) => {
        const m = str(get(c, "agents.defaults.sandbox.mode")) ?? "off";
        return m === "off" ? bad(`agents.defaults.sandbox.mode is "${m}"`) : ok(`agents.defaults.sandbox.mode is "${m}"`);
      }),
  ),
  c(
    "sandbox.dangerous_bind",
    "CRIT",
    "sandbox",
    FW.sandbox,
    "Sandbox bind-mounts the Docker socket, /etc, credentials or the home directory",
    "Remove the bind from agents.*.sandbox.docker.binds; mount only the workspace.",
    (s) =>
      withConfig(s, (c) => {
        const holders = [{ id: "defaults", a: (get(c, "agents.defaults") as Obj) ?? {} }, ...agents(c)];
        const hits: string[] = [];
        for (const { id, a } of holders) {
          const b = get(a, "sandbox.docker.binds");
          if (Array.isArray(b))
            for (const x of b)
              if (
                /^(\/var\/run\/docker\.sock|\/run\/docker\.sock|\/etc|\/root|\/home|\/proc|\/sys|\/)(?::|\/|$)|\.ssh|\.aws|\.openclaw/.test(String(x))
              )
                hits.push(`${id}: ${x}`);
        }
        return hits.length ? bad(`dangerous binds: ${hits.join(", ")}`) : ok("no dangerous sandbox bind");
      }),
  ),
  c(
    "sandbox.network_host",
    "CRIT",
    "sandbox",
    FW.sandbox,
    "Sandbox container shares the host network",
    'Set agents.*.sandbox.docker.network to "none" or a dedicated bridge.',
    (s) =>
      withConfig(s, (c) => {
        const holders = [{ id: "defaults", a: (get(c, "agents.defaults") as Obj) ?? {} }, ...agents(c)];
        const hits = holders.filter(({ a }) => /^(host|container:)/.test(String(get(a, "sandbox.docker.network") ?? ""))).map(({ id }) => id);
        return hits.length ? bad(`host network namespace for ${hits.join(", ")}`) : ok("no host-network sandbox");
      }),
  ),
  c(
    "sandbox.host_isolation",
    "HIGH",
    "sandbox",
    FW.sandbox,
    "The gateway runs without host isolation",
    "Run the gateway in Tropic's bubblewrap sandbox, its systemd unit (ProtectSystem, NoNewPrivileges) or a dedicated VM.",
    (s) =>
      s.isolation
        ? s.isolation.kind === "none"
          ? bad(`no isolation found${s.isolation.detail ? `: ${s.isolation.detail}` : ""}`)
          : ok(`isolation: ${s.isolation.kind}`)
        : null,
  ),
  c(
    "sandbox.gateway_root",
    "CRIT",
    "sandbox",
    FW.sandbox,
    "The gateway runs as root",
    "Run the gateway as the instance's own unprivileged user.",
    (s) => (s.gatewayUid === undefined ? null : s.gatewayUid === 0 ? bad("gateway uid is 0") : ok(`gateway uid is ${s.gatewayUid}`)),
  ),

  // ---------------- channels ----------------
  c(
    "channels.dm_open",
    "CRIT",
    "channels",
    FW.channels,
    "Anyone can DM the agent (dmPolicy open)",
    'Set channels.<provider>.dmPolicy to "pairing" or "allowlist" with the owner\'s numbers in allowFrom.',
    (s) =>
      withConfig(s, (c) => {
        const hits = channelScopes(c)
          .filter(({ ch }) => ch.dmPolicy === "open")
          .map(({ name }) => name);
        return hits.length ? bad(`dmPolicy "open" at ${hits.join(", ")}`) : ok(`${channelScopes(c).length} channel scope(s), none open`);
      }),
  ),
  c(
    "channels.allow_from_wildcard",
    "HIGH",
    "channels",
    FW.channels,
    'A channel allowlist admits every sender ("*")',
    'Replace "*" in channels.<provider>.allowFrom with the owner\'s sender ids (E.164 numbers for WhatsApp).',
    (s) =>
      withConfig(s, (c) => {
        const hits = channelScopes(c)
          .filter(({ ch }) => Array.isArray(ch.allowFrom) && ch.allowFrom.includes("*"))
          .map(({ name }) => name);
        return hits.length ? bad(`allowFrom "*" at ${hits.join(", ")}`) : ok("no wildcard sender");
      }),
  ),
  c(
    "channels.group_open",
    "HIGH",
    "channels",
    FW.channels,
    "Open groups can reach the agent",
    'Set channels.<provider>.groupPolicy to "allowlist" or "disabled".',
    (s) =>
      withConfig(s, (c) => {
        const hits = channelScopes(c)
          .filter(({ ch }) => ch.groupPolicy === "open")
          .map(({ name }) => name);
        return hits.length ? bad(`groupPolicy "open" at ${hits.join(", ")}`) : ok("no open group policy");
      }),
  ),
  c(
    "channels.allowlist_empty",
    "LOW",
    "channels",
    FW.channels,
    "dmPolicy allowlist with an empty allowFrom",
    "Add the owner's sender ids to channels.<provider>.allowFrom (or use dmPolicy pairing).",
    (s) =>
      withConfig(s, (c) => {
        const hits = channelScopes(c)
          .filter(({ ch }) => ch.dmPolicy === "allowlist" && !(Array.isArray(ch.allowFrom) && ch.allowFrom.length))
          .map(({ name }) => name);
        return hits.length ? bad(`empty allowFrom at ${hits.join(", ")}`) : ok("every allowlist has entries");
      }),
  ),
  c(
    "channels.name_matching",
    "MED",
    "channels",
    FW.channels,
    "Senders matched by mutable display names",
    "Set dangerouslyAllowNameMatching to false and list stable sender ids in allowFrom.",
    (s) =>
      withConfig(s, (c) => {
        const hits = channelScopes(c)
          .filter(({ ch }) => ch.dangerouslyAllowNameMatching === true)
          .map(({ name }) => name);
        return hits.length ? bad(`name matching at ${hits.join(", ")}`) : ok("no name matching");
      }),
  ),

  // ---------------- browser ----------------
  c(
    "browser.remote_cdp_http",
    "MED",
    "browser",
    FW.browser,
    "Remote browser control over plain HTTP",
    "Use an https:// or loopback cdpUrl for browser profiles.",
    (s) =>
      withConfig(s, (c) => {
        const profiles = get(c, "browser.profiles");
        const hits = isObj(profiles)
          ? Object.entries(profiles)
              .filter(([, p]) => {
                const u = str(get(p, "cdpUrl"));
                return u && /^(http|ws):\/\//.test(u) && !/^(http|ws):\/\/(127\.|localhost|\[::1\])/.test(u);
              })
              .map(([k]) => k)
          : [];
        return hits.length ? bad(`plain-HTTP remote CDP for ${hits.join(", ")}`) : ok("no plain-HTTP remote CDP");
      }),
  ),
  c(
    "browser.relay_legacy_auth",
    "MED",
    "browser",
    FW.browser,
    "Browser extension relay accepts legacy auth (on by default in 2026.9.6)",
    "Once every relay client uses auth v2, set browser.extensionRelay.allowLegacyAuth to false (or browser.enabled false when the agent needs no browser).",
    (s) =>
      withConfig(s, (c) => {
        if (get(c, "browser.enabled") === false) return ok("browser control disabled");
        const v = get(c, "browser.extensionRelay.allowLegacyAuth");
        // OpenClaw's default is true during its relay auth migration window
        return v === false
          ? ok("legacy relay auth off")
          : bad(`browser.extensionRelay.allowLegacyAuth is ${v === undefined ? "unset (default true)" : String(v)}`);
      }),
  ),

  // ---------------- file permissions ----------------
  c(
    "fs.state_dir.world_writable",
    "CRIT",
    "files",
    FW.files,
    "State directory writable by every user",
    "chmod o-rwx ~/.openclaw (the state directory; 700 outside Tropic's layout).",
    (s) => fileMode(s, "stateDir", 0o002, "state directory"),
  ),
  c(
    "fs.state_dir.group_writable",
    "MED",
    "files",
    FW.files,
    "State directory writable by its group",
    "chmod 700 ~/.openclaw, unless the group is the instance's own agent user (Tropic's layout: setgid and sticky, 3770, accepted as such).",
    (s) => fileMode(s, "stateDir", 0o020, "state directory"),
  ),
  c("fs.state_dir.readable", "MED", "files", FW.files, "State directory readable by other users", "chmod 700 ~/.openclaw.", (s) =>
    fileMode(s, "stateDir", 0o004, "state directory"),
  ),
  c(
    "fs.state_dir.symlink",
    "MED",
    "files",
    FW.files,
    "State directory is a symlink",
    "Make ~/.openclaw a real directory owned by the instance user (move the target's contents in).",
    (s) => {
      const f = s.files?.stateDir;
      return f === undefined
        ? null
        : f === null
          ? ok("no state directory")
          : f.symlink
            ? bad(`${f.path} is a symlink`)
            : ok(`${f.path} is a directory`);
    },
  ),
  c(
    "fs.config.writable",
    "CRIT",
    "files",
    FW.files,
    "openclaw.json writable by every user",
    "chmod o-w ~/.openclaw/openclaw.json (600, or 640 in Tropic's layout).",
    (s) => fileMode(s, "config", 0o002, "config file"),
  ),
  c(
    "fs.config.readable",
    "HIGH",
    "files",
    FW.files,
    "openclaw.json readable by other users",
    "chmod 600 ~/.openclaw/openclaw.json (it holds the gateway token).",
    (s) => fileMode(s, "config", 0o004, "config file"),
  ),
  c(
    "fs.env.readable",
    "HIGH",
    "files",
    FW.secrets,
    ".env (API keys) readable by other users",
    "chmod 600 ~/.openclaw/.env (640 in Tropic's layout, where the group is the instance's own).",
    (s) => fileMode(s, "env", 0o007, ".env file"),
  ),
  c(
    "fs.credentials_dir.perms",
    "HIGH",
    "files",
    FW.secrets,
    "Channel credentials accessible by other users",
    "chmod -R o-rwx ~/.openclaw/credentials (go-rwx outside Tropic's layout).",
    (s) => fileMode(s, "credentialsDir", 0o007, "credentials directory"),
  ),
  c(
    "fs.auth_profiles.perms",
    "HIGH",
    "files",
    FW.secrets,
    "Model auth profiles readable by other users",
    "chmod 600 the agent's auth-profiles file(s) under ~/.openclaw/agents/*/agent/ (640 in Tropic's layout).",
    (s) => fileMode(s, "authProfiles", 0o007, "auth profiles"),
  ),
  c(
    "fs.sessions.perms",
    "MED",
    "files",
    FW.files,
    "Session transcripts accessible by other users",
    "chmod -R o-rwx the sessions directory under ~/.openclaw/agents/*/sessions.",
    (s) => fileMode(s, "sessionsDir", 0o007, "sessions directory"),
  ),
  c("fs.logs.perms", "LOW", "files", FW.files, "Gateway logs accessible by other users", "chmod -R o-rwx ~/.openclaw/logs.", (s) =>
    fileMode(s, "logsDir", 0o007, "logs directory"),
  ),
  c(
    "fs.secureclaw.perms",
    "MED",
    "files",
    FW.integrity,
    "Audit logs and baselines writable by every user",
    "chmod 700 ~/.openclaw/.secureclaw.",
    (s) => fileMode(s, "secureclawDir", 0o002, "audit directory"),
  ),
  c(
    "fs.keys.perms",
    "HIGH",
    "files",
    FW.secrets,
    "Private keys readable by group or others",
    "chmod 600 each private key file (and 700 its directory).",
    (s) => {
      if (!s.keyFiles) return null;
      const hits = s.keyFiles.filter((f) => f.mode & 0o077);
      return hits.length ? bad(hits.map((f) => `${f.path} ${oct(f.mode)}`).join(", ")) : ok(`${s.keyFiles.length} key file(s) private`);
    },
  ),
  c(
    "fs.ssh_dir.perms",
    "MED",
    "files",
    FW.secrets,
    "~/.ssh writable by group or others (sshd refuses its keys)",
    "chmod go-w ~/.ssh (700 is usual; 600 the private keys inside it).",
    (s) => fileMode(s, "sshDir", 0o022, "~/.ssh"),
  ),
  c(
    "fs.owner_mismatch",
    "MED",
    "files",
    FW.files,
    "State files owned by another user",
    "chown the state directory, openclaw.json and .env to the instance user (protected config excepted: owned by the agent user, read-only to the gateway).",
    (s) => {
      const st = s.files?.stateDir;
      if (!st) return null;
      const others = (["env", "credentialsDir", "authProfiles", "sessionsDir"] as FileRole[])
        .map((r) => s.files?.[r])
        // the state directory's owner, root, or (Tropic's layout) the instance's group: the agent user
        // writes protected files into the setgid directory, so they carry its group
        .filter((f): f is FileFact => !!f && f.uid !== st.uid && f.uid !== 0 && f.gid !== st.gid);
      return others.length ? bad(others.map((f) => `${f.path} uid ${f.uid} (state dir uid ${st.uid})`).join(", ")) : ok("owners consistent");
    },
  ),

  // ---------------- credential exposure ----------------
  c(
    "secrets.identity_files",
    "CRIT",
    "secrets",
    FW.secrets,
    "A secret is pasted into an identity file (SOUL.md, AGENTS.md, ...)",
    "Remove the secret from the file, rotate it at its issuer, and give it to the skill through its credential setting (it reaches the agent as an environment variable).",
    (s) => secretHits(s.identityFiles),
  ),
  c(
    "secrets.memory_files",
    "HIGH",
    "secrets",
    FW.secrets,
    "A secret is stored in the agent's memory (MEMORY.md, memory/)",
    "Delete the secret from the memory file, rotate it, and ask the agent not to store credentials.",
    (s) => secretHits(s.memoryFiles),
  ),
  c(
    "secrets.shell_history",
    "MED",
    "secrets",
    FW.secrets,
    "A secret is in shell history",
    "Remove the lines (history -d N, or edit the file), rotate the secret, and pass secrets through files or the environment.",
    (s) => secretHits(s.shellHistory),
  ),
  c(
    "secrets.config_literals",
    "MED",
    "secrets",
    FW.secrets,
    "API keys written as literals in openclaw.json",
    "Move models.providers.*.apiKey and skills.entries.*.apiKey to the .env (referenced from the config by name) or a SecretRef.",
    (s) =>
      withConfig(s, (c) => {
        const hits: string[] = [];
        const prov = get(c, "models.providers");
        if (isObj(prov))
          for (const [k, p] of Object.entries(prov)) {
            const v = get(p, "apiKey");
            if (typeof v === "string" && v.length >= 16 && !isRef(v)) hits.push(`models.providers.${k}.apiKey`);
          }
        const sk = get(c, "skills.entries");
        if (isObj(sk))
          for (const [k, p] of Object.entries(sk)) {
            const v = get(p, "apiKey");
            if (typeof v === "string" && v.length >= 16 && !isRef(v)) hits.push(`skills.entries.${k}.apiKey`);
          }
        return hits.length ? bad(`literal keys at ${hits.join(", ")}`) : ok("no literal API key");
      }),
  ),
  c(
    "secrets.model_plaintext_transport",
    "MED",
    "secrets",
    FW.secrets,
    "Model API key sent over plain HTTP",
    "Use an https:// baseUrl for remote model providers (plain http only to 127.0.0.1).",
    (s) =>
      withConfig(s, (c) => {
        const prov = get(c, "models.providers");
        const hits = isObj(prov)
          ? Object.entries(prov)
              .filter(([, p]) => {
                const u = str(get(p, "baseUrl"));
                return u && /^http:\/\//.test(u) && !/^http:\/\/(127\.|localhost|\[::1\])/.test(u);
              })
              .map(([k]) => k)
          : [];
        return hits.length ? bad(`plain-HTTP remote providers: ${hits.join(", ")}`) : ok("model transport encrypted or local");
      }),
  ),

  // ---------------- network and OS ----------------
  c(
    "net.gateway_port_exposed",
    "CRIT",
    "network",
    FW.exposure,
    "The gateway port is listening beyond loopback",
    "Bind the gateway to loopback (gateway.bind loopback) and restart it; check nothing else forwards the port.",
    (s) => {
      if (!s.sockets) return null;
      const port = Number(get(s.config, "gateway.port") ?? 18789);
      const hits = s.sockets.filter((k) => k.port === port && !LOOPBACK(k.address));
      return hits.length ? bad(`listening on ${hits.map((k) => `${k.address}:${k.port}`).join(", ")}`) : ok(`port ${port} loopback only`);
    },
  ),
  c(
    "net.listen_beyond_loopback",
    "HIGH",
    "network",
    FW.exposure,
    "Other services listen beyond loopback",
    "Stop the service or bind it to 127.0.0.1; on a VM only ssh (22) and nginx (80/443) may listen publicly.",
    (s) => {
      if (!s.sockets) return null;
      const port = Number(get(s.config, "gateway.port") ?? 18789);
      const hits = s.sockets.filter((k) => !LOOPBACK(k.address) && k.port !== port && !(s.host?.kind === "vm" && SAFE_PORTS_VM.has(k.port)));
      return hits.length
        ? bad(`listening: ${[...new Set(hits.map((k) => `${k.address}:${k.port}`))].join(", ")}`)
        : ok(`${s.sockets.length} listening socket(s), none unexpected`);
    },
  ),
  c(
    "net.firewall_inactive",
    "MED",
    "network",
    FW.exposure,
    "No host firewall in force",
    "Enable the instance's firewall (tropic-vm-firewall.service / nftables) or its cloud security group.",
    (s) => (s.firewall ? (s.firewall.active ? ok(s.firewall.detail ?? "firewall active") : bad(s.firewall.detail ?? "no firewall active")) : null),
  ),
  c(
    "os.ssh.password_auth",
    "HIGH",
    "os",
    FW.os,
    "SSH accepts passwords",
    "Set PasswordAuthentication no (and KbdInteractiveAuthentication no) in /etc/ssh/sshd_config, then systemctl reload ssh.",
    (s) =>
      s.sshd
        ? (s.sshd.passwordauthentication ?? "yes") === "no"
          ? ok("PasswordAuthentication no")
          : bad(`PasswordAuthentication ${s.sshd.passwordauthentication ?? "yes (default)"}`)
        : null,
  ),
  c(
    "os.ssh.root_login",
    "HIGH",
    "os",
    FW.os,
    "SSH allows root login with a password",
    "Set PermitRootLogin no in /etc/ssh/sshd_config, then systemctl reload ssh.",
    (s) => {
      if (!s.sshd) return null;
      const v = s.sshd.permitrootlogin ?? "prohibit-password";
      return v === "yes" ? bad(`PermitRootLogin ${v}`) : ok(`PermitRootLogin ${v}`);
    },
  ),
  c("os.ssh.empty_passwords", "CRIT", "os", FW.os, "SSH allows empty passwords", "Set PermitEmptyPasswords no in /etc/ssh/sshd_config.", (s) =>
    s.sshd ? (s.sshd.permitemptypasswords === "yes" ? bad("PermitEmptyPasswords yes") : ok("PermitEmptyPasswords no")) : null,
  ),
  c(
    "os.services.not_masked",
    "MED",
    "os",
    FW.os,
    "Services the image disables are not masked",
    "systemctl disable --now UNIT && systemctl mask UNIT for each listed unit.",
    (s) => {
      if (!s.services || !s.expectMasked?.length) return null;
      const hits = s.expectMasked.filter((u) => s.services?.[u] !== "masked");
      return hits.length
        ? bad(`not masked: ${hits.map((u) => `${u} (${s.services?.[u] ?? "unknown"})`).join(", ")}`)
        : ok(`${s.expectMasked.length} unit(s) masked`);
    },
  ),
  c(
    "os.unattended_upgrades",
    "LOW",
    "os",
    FW.os,
    "Unattended upgrades differ from the configured choice",
    "Enable or disable unattended-upgrades as the instance's settings say (apt.conf.d/20auto-upgrades).",
    (s) =>
      s.unattendedUpgrades
        ? s.unattendedUpgrades.enabled === s.unattendedUpgrades.expected
          ? ok(`unattended upgrades ${s.unattendedUpgrades.enabled ? "on" : "off"} as configured`)
          : bad(`unattended upgrades ${s.unattendedUpgrades.enabled ? "on" : "off"}, configured ${s.unattendedUpgrades.expected ? "on" : "off"}`)
        : null,
  ),

  // ---------------- supply chain ----------------
  c(
    "supply.plugin_unknown",
    "HIGH",
    "supply",
    FW.supply,
    "A plugin is installed that is neither Tropic's, bundled nor in the marketplace",
    "Remove it (openclaw plugins uninstall ID) unless you installed it deliberately; then accept the finding with the reason.",
    (s) => {
      if (!s.installed || !s.known) return null;
      const hits = s.installed.plugins.filter((p) => !(p.id in s.known!.plugins)).map((p) => p.id);
      return hits.length ? bad(`unknown plugins: ${hits.join(", ")}`) : ok(`${s.installed.plugins.length} plugin(s) known`);
    },
  ),
  c(
    "supply.plugin_hash",
    "CRIT",
    "supply",
    FW.supply,
    "A known plugin's files differ from the published hash",
    "Reinstall the plugin from Tropic's bundle or the marketplace; investigate who changed it.",
    (s) => {
      if (!s.installed || !s.known) return null;
      const hits = s.installed.plugins
        .filter((p) => {
          const h = s.known!.plugins[p.id];
          return h?.length && p.sha256 && !h.includes(p.sha256);
        })
        .map((p) => p.id);
      return hits.length ? bad(`hash mismatch: ${hits.join(", ")}`) : ok("plugin hashes match where pinned");
    },
  ),
  c(
    "supply.skill_unknown",
    "MED",
    "supply",
    FW.supply,
    "A skill is installed that is not in the marketplace",
    "Remove the skill folder unless you wrote or installed it deliberately (then accept the finding).",
    (s) => {
      if (!s.installed || !s.known) return null;
      const hits = s.installed.skills.filter((p) => !(p.id in s.known!.skills)).map((p) => p.id);
      return hits.length ? bad(`unknown skills: ${hits.join(", ")}`) : ok(`${s.installed.skills.length} skill(s) known`);
    },
  ),
  c(
    "supply.skill_hash",
    "HIGH",
    "supply",
    FW.supply,
    "A marketplace skill differs from its published files",
    "Reinstall the skill from the marketplace (the dashboard's skill drawer) and review what changed.",
    (s) => {
      if (!s.installed || !s.known) return null;
      const hits = s.installed.skills
        .filter((p) => {
          const h = s.known!.skills[p.id];
          return h?.length && p.sha256 && !h.includes(p.sha256);
        })
        .map((p) => p.id);
      return hits.length ? bad(`hash mismatch: ${hits.join(", ")}`) : ok("skill hashes match where pinned");
    },
  ),
  c(
    "supply.plugins_no_allowlist",
    "MED",
    "supply",
    FW.supply,
    "Plugins load without an explicit allowlist",
    "Set plugins.allow to the ids you use (tropic-gate and the channels you enabled).",
    (s) =>
      withConfig(s, (c) => {
        const entries = get(c, "plugins.entries");
        if (!isObj(entries) || !Object.keys(entries).length) return ok("no plugin entries");
        const a = get(c, "plugins.allow");
        return Array.isArray(a) && a.length ? ok(`plugins.allow lists ${a.length}`) : bad("plugins.entries set but plugins.allow is empty");
      }),
  ),

  // ---------------- the gate (Sondera role) ----------------
  c(
    "gate.installed",
    "CRIT",
    "gate",
    FW.gate,
    "The gate plugin is not installed",
    "Reinstall it through the instance agent (Tropic restores the gate's desired state); until then no tool call is checked.",
    (s) => (s.gate ? (s.gate.installed ? ok("tropic-gate files present") : bad("tropic-gate plugin files not found")) : null),
  ),
  c(
    "gate.enabled",
    "CRIT",
    "gate",
    FW.gate,
    "The gate is disabled",
    "Enable it: plugins.entries.tropic-gate.enabled true and its config.enabled true (the dashboard's Sondera toggle).",
    (s) =>
      withConfig(s, (c) => {
        const e = get(c, "plugins.entries.tropic-gate");
        if (!isObj(e)) return bad("plugins.entries.tropic-gate is missing");
        if (e.enabled === false) return bad("plugins.entries.tropic-gate.enabled is false");
        if (get(e, "config.enabled") === false) return bad("plugins.entries.tropic-gate.config.enabled is false");
        const allow = get(c, "plugins.allow");
        if (Array.isArray(allow) && allow.length && !allow.includes("tropic-gate")) return bad("plugins.allow does not include tropic-gate");
        const deny = get(c, "plugins.deny");
        if (Array.isArray(deny) && deny.includes("tropic-gate")) return bad("plugins.deny includes tropic-gate");
        return ok("tropic-gate enabled");
      }),
  ),
  c(
    "gate.packs",
    "HIGH",
    "gate",
    FW.gate,
    "The gate lacks rule packs the user chose",
    "Re-apply the instance's gate settings from the dashboard (the agent writes plugins.entries.tropic-gate.config.packs).",
    (s) => {
      if (!s.config || !s.gate?.expectedPacks) return null;
      const p = get(s.config, "plugins.entries.tropic-gate.config.packs");
      const on = new Set<string>(["base"].filter(() => !isObj(p) || p.base !== false));
      if (isObj(p)) for (const [k, v] of Object.entries(p)) if (v === true) on.add(k);
      const missing = s.gate.expectedPacks.filter((x) => !on.has(x));
      return missing.length ? bad(`packs not loaded: ${missing.join(", ")}`) : ok(`packs: ${[...on].join(", ")}`);
    },
  ),
  c(
    "gate.protected_writable",
    "HIGH",
    "gate",
    FW.gate,
    "Protected config is writable by the gateway",
    "Make openclaw.json and the gate's files owned by the agent user, mode 0644/0755, not writable by the gateway's user.",
    (s) => {
      if (s.gatewayUid === undefined || !s.protectedFiles) return null;
      const uid = s.gatewayUid;
      const gid = s.gatewayGid;
      const hits = s.protectedFiles.filter(
        (f) => (f.uid === uid && f.mode & 0o200) || f.mode & 0o002 || (f.mode & 0o020 && (gid === undefined || f.gid === gid)),
      );
      return hits.length
        ? bad(hits.map((f) => `${f.path} (uid ${f.uid}, ${oct(f.mode)})`).join(", "))
        : ok(`${s.protectedFiles.length} protected file(s) read-only to uid ${uid}`);
    },
  ),
  c(
    "gate.audit_log",
    "LOW",
    "gate",
    FW.monitor,
    "The gate's audit log is missing",
    "Check that the gate loads (openclaw plugins list) and that ~/.openclaw/.sondera/ is writable by the gateway.",
    (s) => {
      if (!s.gate || s.gate.auditLog === undefined) return null;
      return s.gate.auditLog ? ok(`${s.gate.auditLog.path} present`) : bad("~/.openclaw/.sondera/audit.log not found");
    },
  ),
  c(
    "gate.kill_switch",
    "HIGH",
    "gate",
    FW.monitor,
    "A gate rule blocks OpenClaw's stop words (kill switch)",
    `Remove the rule: the stop words (${STOP_WORDS.join(", ")}) must always reach OpenClaw.`,
    (s) =>
      s.gate?.stopWordsBlocked === undefined
        ? null
        : s.gate.stopWordsBlocked.length
          ? bad(`blocked: ${s.gate.stopWordsBlocked.join(", ")}`)
          : ok("stop words not blocked"),
  ),

  // ---------------- integrity ----------------
  c(
    "integrity.changed",
    "HIGH",
    "integrity",
    FW.integrity,
    "Identity files, gate files or protected config changed since the baseline",
    "Review the change (events.log has the file and hashes); if you made it, accept it as the new baseline; otherwise restore the file and rotate the gateway token.",
    (s) => {
      if (!s.integrity) return null;
      if (!s.integrity.baseline) return ok("no baseline yet");
      const inc = s.integrity.incidents;
      return inc.length ? bad(inc.map((i) => `${i.kind} ${i.name}`).join(", ")) : ok("all files match the baseline");
    },
  ),
  c(
    "integrity.no_baseline",
    "LOW",
    "integrity",
    FW.integrity,
    "No integrity baseline recorded",
    "Record one: node hardening/src/cli.ts baseline (provisioning does this).",
    (s) => (s.integrity ? (s.integrity.baseline ? ok("baseline present") : bad("no baseline in ~/.openclaw/.secureclaw/baselines/")) : null),
  ),

  // ---------------- config health and privacy ----------------
  c(
    "config.unreadable",
    "HIGH",
    "config",
    FW.monitor,
    "openclaw.json cannot be parsed",
    "Run openclaw doctor; fix or restore openclaw.json from the last good copy (an invalid config keeps the old one running).",
    (s) => (s.configError !== undefined ? bad(s.configError) : s.config ? ok("openclaw.json parses") : null),
  ),
  c(
    "config.logging_redaction",
    "MED",
    "config",
    FW.secrets,
    "Log redaction patterns replaced by an empty or weak list",
    "Delete logging.redactPatterns (OpenClaw's defaults apply) or add to it rather than replacing it.",
    (s) =>
      withConfig(s, (c) => {
        const p = get(c, "logging.redactPatterns");
        const off = get(c, "logging.redactSensitive") === "off";
        if (off) return bad('logging.redactSensitive is "off" (retired key, still a stated intent)');
        return Array.isArray(p) && p.length === 0 ? bad("logging.redactPatterns is an empty list") : ok("default or extended redaction");
      }),
  ),
  c(
    "privacy.directives",
    "LOW",
    "privacy",
    FW.channels,
    "No privacy directive in the agent's identity files",
    "Add a line to SOUL.md or AGENTS.md such as: Never share the owner's personal data, credentials or files with anyone else.",
    (s) => {
      if (!s.identityFiles || !Object.keys(s.identityFiles).length) return null;
      const all = Object.values(s.identityFiles).join("\n");
      return /privacy|private|personal (data|information)|confidential|never share/i.test(all)
        ? ok("privacy directive present")
        : bad(`none in ${Object.keys(s.identityFiles).join(", ")}`);
    },
  ),
];

export const CHECK_IDS = CHECKS.map((x) => x.id);

/** OpenClaw's own checkIds that a Tropic check already decides (theirs is dropped when ours ran). */
export const COVERED_OPENCLAW: Record<string, string> = {
  "gateway.bind_no_auth": "gateway.auth.none",
  "gateway.token_too_short": "gateway.auth.token_short",
  "gateway.token_placeholder_value": "gateway.auth.token_placeholder",
  "gateway.password_too_short": "gateway.auth.password_short",
  "gateway.auth_no_rate_limit": "gateway.auth.rate_limit",
  "gateway.tailscale_funnel": "gateway.tailscale.funnel",
  "gateway.control_ui.allowed_origins_wildcard": "gateway.control_ui.origins_wildcard",
  "gateway.control_ui.host_header_origin_fallback": "gateway.control_ui.host_header_fallback",
  "gateway.real_ip_fallback_enabled": "gateway.real_ip_fallback",
  "config.secrets.gateway_password_in_config": "gateway.auth.password_in_config",
  "hooks.token_reuse_gateway_token": "gateway.hooks.token_reuse",
  "hooks.token_too_short": "gateway.hooks.token_short",
  "hooks.path_root": "gateway.hooks.path_root",
  "fs.state_dir.perms_world_writable": "fs.state_dir.world_writable",
  "fs.state_dir.perms_group_writable": "fs.state_dir.group_writable",
  "fs.state_dir.perms_readable": "fs.state_dir.readable",
  "fs.state_dir.symlink": "fs.state_dir.symlink",
  "fs.config.perms_writable": "fs.config.writable",
  "fs.config.perms_world_readable": "fs.config.readable",
  "fs.credentials_dir.perms_readable": "fs.credentials_dir.perms",
  "fs.credentials_dir.perms_writable": "fs.credentials_dir.perms",
  "fs.auth_profiles.perms_readable": "fs.auth_profiles.perms",
  "fs.auth_profiles.perms_writable": "fs.auth_profiles.perms",
  "fs.sessions_store.perms_readable": "fs.sessions.perms",
  "fs.log_file.perms_readable": "fs.logs.perms",
  "tools.exec.security_full_configured": "tools.exec.mode_full",
  "plugins.extensions_no_allowlist": "supply.plugins_no_allowlist",
  "sandbox.dangerous_bind_mount": "sandbox.dangerous_bind",
  "sandbox.dangerous_network_mode": "sandbox.network_host",
  "browser.remote_cdp_http": "browser.remote_cdp_http",
  "browser.extension_relay_legacy_auth": "browser.relay_legacy_auth",
  "config.insecure_or_dangerous_flags": "gateway.config.dangerous_flags",
};
