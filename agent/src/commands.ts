// What the control plane can ask of an instance. Every command is idempotent (it sets a state, it
// never appends one), so a command delivered twice leaves the instance as delivered once. Files are
// written atomically (temp + rename), owned by the instance's user, never through a symlink, and
// only under the state directory. Secret values (API keys) are never part of a result.
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { type GatewayAddress, loadedState, waitApplied } from "./gateway-rpc.ts";
import type { HardeningRequest, HostFacts } from "./hardening.ts";
import type { AgentStatus, CommandKind } from "./protocol.ts";
import { whatsappCommand } from "./whatsapp.ts";

export interface CommandContext {
  stateDir: string;
  /** the instance's HOME (~/.ssh lives here); the parent of stateDir when not given */
  homeDir?: string;
  configPath: string;
  gatewayLog: string;
  owner: { uid: number; gid: number } | null;
  restartGateway(): Promise<boolean>;
  gatewayRunning(): boolean | Promise<boolean>;
  status(): Promise<AgentStatus>;
  /** the running gateway's RPC address: config writes are confirmed by asking it (absent in unit tests) */
  gateway?: GatewayAddress;
  /** whether the gateway answers /readyz now */
  gatewayReady?(): Promise<boolean>;
  /** OpenClaw's own check of a config text before it is written: its issues (`path: message`), or null when valid */
  validateConfig?(text: string): Promise<string[] | null>;
  /** why the gateway is not up, for messages (its phase and last error), when it is not */
  gatewayTrouble?(): string | null;
  /** where the gateway finds the control plane's model proxy (127.0.0.1:modelPort, served by the agent) */
  modelPort?: number;
  /** runs one hardening operation (hardening.ts) in the worker's child process; absent: none here */
  hardening?(req: HardeningRequest): Promise<unknown>;
  /** OpenClaw's own `security audit --json` output, run by the agent in the gateway's sandbox */
  openclawAudit?(): Promise<string>;
  /** what the agent knows about the host (isolation, service) for the audit */
  hostFacts?: HostFacts;
  /** the hardening CLI the seed's scripts default to (null: none) */
  hardeningCli?: string[] | null;
  /** where the gateway finds OpenClaw's WhatsApp plugin (the launch's desired state), when shipped */
  whatsappPluginDir?: string | null;
}

export const PLUGIN_ID = "tropic-gate";
type Obj = Record<string, any>;

// Modes. The agent user writes; the gateway's group (setgid directories keep it) reads what decides
// security (openclaw.json, .env, skills, authorized_keys) and may also edit the agents' workspace files.
export const MODE_PROTECTED = 0o640;
export const MODE_WORKSPACE = 0o660;
export const MODE_DIR = 0o2770;
/** A skill's command (bin/*): the gateway's group may run it, nobody but the agent user may change it. */
export const MODE_PROGRAM = 0o750;
/** The directory of the skills' commands, `<state>/skills-bin`, first on the gateway's PATH (docs/skills.md). */
export const SKILLS_BIN_DIR = "skills-bin";

const isSkillBin = (rel: string) => /^bin\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(rel);

/**
 * `<state>/skills-bin/<name>` → `../skills/<slug>/bin/<name>` for each of the skill's commands (relative
 * links: the same inside the gateway's sandbox), and this skill's links that are no longer wanted
 * removed. A name another skill's link holds is refused (never silently taken over).
 */
function linkSkillBins(ctx: CommandContext, slug: string, bins: string[]) {
  const dir = join(ctx.stateDir, SKILLS_BIN_DIR);
  const want = new Map(bins.map((rel) => [rel.slice(4), join("..", "skills", slug, rel)]));
  if (existsSync(dir)) {
    noSymlink(dir);
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      let target: string | null = null;
      try {
        target = lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
      } catch {}
      const ours = target?.startsWith(join("..", "skills", slug) + sep);
      if (want.has(name) && target !== want.get(name) && !ours && target !== null)
        throw new Error(`the command ${name} is already installed by another skill`);
      if (ours && target !== want.get(name)) rmSync(p, { force: true });
    }
  }
  if (!want.size) return;
  ensureDirs(ctx, dir);
  chmodSync(dir, 0o2750);
  for (const [name, target] of want) {
    const p = join(dir, name);
    let current: string | null = null;
    try {
      current = readlinkSync(p);
    } catch {}
    if (current === target) continue;
    rmSync(p, { force: true });
    symlinkSync(target, p);
    if (ctx.owner) lchownSync(p, ctx.owner.uid, ctx.owner.gid);
  }
  // The skill's folders stop being writable by the gateway's group once its program is there.
  for (const d of [join(ctx.stateDir, "skills", slug), join(ctx.stateDir, "skills", slug, "bin"), join(ctx.stateDir, "skills", slug, "lib")])
    if (existsSync(d) && lstatSync(d).isDirectory()) chmodSync(d, 0o2750);
}

export async function runCommand(ctx: CommandContext, kind: CommandKind, payload: Obj): Promise<unknown> {
  switch (kind) {
    case "write_workspace": {
      const slug = slugOf(payload.slug);
      const files = (payload.files ?? {}) as Record<string, string>;
      const base = join(ctx.stateDir, "workspace", slug);
      const written = Object.entries(files).map(([rel, text]) => writeUnder(ctx, base, rel, String(text), MODE_WORKSPACE));
      await tropicWrote(ctx, { files: written });
      return { slug, files: Object.keys(files).sort() };
    }
    case "register_agent": {
      const id = slugOf(payload.id);
      const workspace = join(ctx.stateDir, "workspace", slugOf(payload.slug ?? id));
      // A workspace the gateway's user replaced by a link is not registered (second layer: the agent's
      // user could not open another tenant's files through it anyway).
      noSymlink(join(ctx.stateDir, "workspace"));
      noSymlink(workspace);
      await updateConfig(ctx, (cfg) => {
        cfg.agents ??= {};
        // OpenClaw 2026.9 refuses a roster of several agents unless their ownership is explicit.
        cfg.agents.ownership = "explicit";
        cfg.agents.entries ??= {};
        const entry: Obj = { workspace, model: String(payload.model) };
        if (payload.name) entry.name = String(payload.name);
        if (Array.isArray(payload.skills)) entry.skills = payload.skills.map(String);
        cfg.agents.entries[id] = entry;
        // A custom model endpoint (Settings → custom model) the agent's model refers to.
        const mp = payload.modelProvider as Obj | undefined;
        if (mp?.id) {
          cfg.models ??= {};
          cfg.models.providers ??= {};
          cfg.models.providers[String(mp.id)] = mp.config;
        }
        if (payload.policy !== undefined) setPolicy(cfg, id, payload.policy as string | null);
      });
      await tropicWrote(ctx, { config: true, under: [workspace] });
      // Ready means the gateway runs it: asked, not read from the file we wrote.
      return { agentId: id, workspace, loaded: await confirmLoaded(ctx, id) };
    }
    case "remove_agent": {
      const id = slugOf(payload.id);
      await updateConfig(ctx, (cfg) => {
        if (cfg.agents?.entries) delete cfg.agents.entries[id];
        setPolicy(cfg, id, null);
      });
      const workspace = join(ctx.stateDir, "workspace", slugOf(payload.slug ?? id));
      if (payload.deleteWorkspace) rmSync(workspace, { recursive: true, force: true });
      await tropicWrote(ctx, { config: true, under: [workspace] });
      return { agentId: id, removed: true };
    }
    case "write_env": {
      // The model API key at provisioning and on every start: the gateway reads .env when it starts,
      // so it is restarted, but only when a value really changed.
      const vars = (payload.vars ?? {}) as Record<string, string | null>;
      // Through the model proxy (no Claude key of the user's own): OpenClaw's anthropic provider is
      // pointed at the agent's listener, which carries the calls to the control plane.
      if (typeof payload.modelProxy === "boolean") await setModelProxy(ctx, payload.modelProxy);
      const { names, changed } = writeEnv(ctx, vars);
      const restart = payload.restartIfChanged === true && changed;
      const ready = restart ? await ctx.restartGateway() : undefined;
      return { names, changed, restarted: restart, ...(restart ? { ready } : {}) };
    }
    case "read_gateway_token": {
      const cfg = readConfig(ctx);
      const token = cfg.gateway?.auth?.token;
      if (typeof token !== "string") throw new Error("openclaw.json has no gateway.auth.token");
      return { token };
    }
    case "restart_gateway": {
      const ready = await ctx.restartGateway();
      return { restarted: true, ready };
    }
    case "set_gate_config": {
      // Replaces the given keys of plugins.entries.tropic-gate.config; the running gateway hot-reloads it.
      const patch = (payload.config ?? {}) as Obj;
      await updateConfig(ctx, (cfg) => {
        const e = gateEntry(cfg);
        e.config = { ...(e.config ?? {}), ...patch };
      });
      await tropicWrote(ctx, { config: true });
      // The gate's switch (issue 19) is done when the running gateway runs it: "on again" applies at once.
      if (typeof patch.enabled === "boolean") return { keys: Object.keys(patch).sort(), applied: await confirmGateSwitch(ctx, patch) };
      return { keys: Object.keys(patch).sort() };
    }
    case "install_skill": {
      const slug = slugOf(payload.slug);
      const base = join(ctx.stateDir, "skills", slug);
      const files = (payload.files ?? {}) as Record<string, string>;
      // bin/* are the skill's commands: readable and runnable by the gateway's group, writable by neither.
      for (const [rel, text] of Object.entries(files)) writeUnder(ctx, base, rel, String(text), isSkillBin(rel) ? MODE_PROGRAM : MODE_PROTECTED);
      linkSkillBins(ctx, slug, Object.keys(files).filter(isSkillBin));
      const env = (payload.env ?? {}) as Record<string, string>;
      const { names } = writeEnv(ctx, env);
      await updateConfig(ctx, (cfg) => {
        cfg.skills ??= {};
        cfg.skills.entries ??= {};
        cfg.skills.entries[slug] = { ...(cfg.skills.entries[slug] ?? {}), enabled: payload.enabled !== false };
      });
      const restarted = payload.restart === false ? false : await ctx.restartGateway();
      return { slug, env: names, restarted };
    }
    case "remove_skill": {
      const slug = slugOf(payload.slug);
      linkSkillBins(ctx, slug, []);
      rmSync(join(ctx.stateDir, "skills", slug), { recursive: true, force: true });
      const unset: Record<string, null> = {};
      for (const n of (payload.envNames ?? []) as string[]) unset[n] = null;
      writeEnv(ctx, unset);
      await updateConfig(ctx, (cfg) => {
        if (cfg.skills?.entries) delete cfg.skills.entries[slug];
      });
      const restarted = payload.restart === false ? false : await ctx.restartGateway();
      return { slug, removed: true, restarted };
    }
    case "status":
      return ctx.status();
    case "set_authorized_keys": {
      // Replaces ~/.ssh/authorized_keys with exactly these keys (the user's current SSH key): the
      // retired key stops working as soon as the file is renamed into place.
      const keys = (Array.isArray(payload.keys) ? payload.keys : []).map(authorizedKeyLine);
      const fingerprint = writeAuthorizedKeys(ctx, keys.map((k) => `${k}\n`).join(""));
      return { keys: keys.length, sha256: fingerprint };
    }
    case "read_gate_audit":
      // A live reading (not remembered by the agent, not stored by the control plane).
      return readGateAudit(ctx, payload);
    case "audit": {
      // OpenClaw's own audit (seconds, a CLI start) only when asked; the agent runs it where the gateway runs
      let openclaw: { openclawAuditJson?: string; openclawAuditError?: string } = {};
      if (payload.openclaw === true) {
        if (!ctx.openclawAudit) openclaw = { openclawAuditError: "no OpenClaw runtime to run it with here" };
        else
          openclaw = await ctx.openclawAudit().then(
            (openclawAuditJson) => ({ openclawAuditJson }),
            (e: Error) => ({ openclawAuditError: e.message }),
          );
      }
      return hardeningOp(ctx, "audit", payload, openclaw);
    }
    case "integrity":
      return hardeningOp(ctx, "integrity", {});
    case "whatsapp_enable":
    case "whatsapp_policy":
    case "whatsapp_login":
    case "whatsapp_status":
    case "whatsapp_logout":
      return whatsappCommand(ctx, kind, payload);
    case "accept_integrity":
      if (typeof payload.reason !== "string" || !payload.reason.trim())
        throw new Error("accept_integrity needs a reason: say why the change is accepted (payload.reason, a non-empty string)");
      return hardeningOp(ctx, "accept_integrity", payload);
    default:
      throw new Error(`unknown command "${kind as string}"`);
  }
}

function hardeningOp(ctx: CommandContext, op: HardeningRequest["op"], payload: Obj, extra: Partial<HardeningRequest> = {}): Promise<unknown> {
  if (!ctx.hardening) throw new Error("the hardening engine is not available in this agent");
  return ctx.hardening({
    op,
    payload,
    stateDir: ctx.stateDir,
    homeDir: ctx.homeDir ?? dirname(ctx.stateDir),
    facts: ctx.hostFacts ?? {},
    cli: ctx.hardeningCli ?? null,
    ...extra,
  });
}

/** The integrity baseline's file: Tropic's own writes are taken into it only when there is one. */
export const BASELINE_FILE = join(".secureclaw", "baselines", "sha256.json");

/**
 * Tropic itself wrote watched files (identity files of a workspace, the protected part of openclaw.json,
 * an agent's workspace added or removed): their baseline entries follow, so the control plane's deploys
 * are not incidents and anything else is. Best effort: the write is done either way, and a baseline
 * left behind shows as an incident the user can accept.
 */
export async function tropicWrote(ctx: CommandContext, what: { files?: string[]; under?: string[]; config?: boolean; gate?: boolean }) {
  if (!ctx.hardening || !existsSync(join(ctx.stateDir, BASELINE_FILE))) return;
  try {
    await hardeningOp(ctx, "update_baseline", { ...what, reason: "written by Tropic (the instance agent)" });
  } catch {}
}

/**
 * The part of openclaw.json that decides security, as the control plane wants it (the provider's
 * `desired`): token auth on loopback, the Control UI under the proxy's path, the gate plugin loaded
 * and enabled with its gateway token. Written before the gateway starts and whenever it differs, so a
 * gate switched off by anything but the control plane is switched on again. Returns what it restored.
 */
export function ensureBaseConfig(ctx: CommandContext, d: Obj): { changed: string[] } {
  const cfg = readConfig(ctx);
  const before = JSON.stringify(cfg);
  const changed: string[] = [];
  const want = (path: string, ok: boolean) => {
    if (!ok) changed.push(path);
  };
  cfg.gateway ??= {};
  const gw = cfg.gateway;
  want("gateway.mode", gw.mode === "local");
  want("gateway.bind", gw.bind === "loopback");
  want("gateway.auth", gw.auth?.mode === "token" && gw.auth?.token === d.gatewayToken);
  want("gateway.controlUi.basePath", gw.controlUi?.basePath === d.basePath);
  cfg.gateway = {
    ...gw,
    mode: "local",
    bind: "loopback",
    auth: { mode: "token", token: d.gatewayToken },
    controlUi: { ...(gw.controlUi ?? {}), basePath: d.basePath },
  };
  // mDNS would advertise the gateway on the LAN; a Tropic gateway binds loopback and is reached through
  // its agent. Off where the config does not say otherwise, so the provision audit's hardening finds
  // nothing to rewrite: a rewrite of this key restarts the gateway, under a turn that may be running.
  if (cfg.discovery?.mdns?.mode === undefined) cfg.discovery = { ...(cfg.discovery ?? {}), mdns: { ...(cfg.discovery?.mdns ?? {}), mode: "off" } };
  cfg.agents ??= {};
  cfg.agents.defaults = { ...(cfg.agents.defaults ?? {}), workspace: d.workspace };
  cfg.plugins ??= {};
  cfg.plugins.load ??= {};
  const paths: string[] = Array.isArray(cfg.plugins.load.paths) ? cfg.plugins.load.paths : [];
  want("plugins.load.paths", paths[0] === d.pluginDir);
  cfg.plugins.load.paths = [d.pluginDir, ...paths.filter((x) => x !== d.pluginDir)];
  const e = gateEntry(cfg);
  want(`plugins.entries.${PLUGIN_ID}.enabled`, e.enabled === true);
  e.enabled = true;
  e.config = { ...(e.config ?? {}), gatewayToken: d.gatewayToken };
  if (Array.isArray(cfg.plugins.deny) && cfg.plugins.deny.includes(PLUGIN_ID)) {
    changed.push("plugins.deny");
    cfg.plugins.deny = cfg.plugins.deny.filter((x: string) => x !== PLUGIN_ID);
  }
  if (JSON.stringify(cfg) !== before || !existsSync(ctx.configPath))
    writeAtomic(ctx, ctx.configPath, `${JSON.stringify(cfg, null, 2)}\n`, MODE_PROTECTED);
  return { changed: JSON.stringify(cfg) === before ? [] : changed };
}

function gateEntry(cfg: Obj): Obj {
  cfg.plugins ??= {};
  cfg.plugins.entries ??= {};
  cfg.plugins.entries[PLUGIN_ID] ??= { enabled: true, config: {} };
  return cfg.plugins.entries[PLUGIN_ID];
}

function setPolicy(cfg: Obj, agentId: string, text: string | null) {
  const e = gateEntry(cfg);
  e.config ??= {};
  const policies = { ...(e.config.policies ?? {}) };
  if (text === null || text === "") delete policies[agentId];
  else policies[agentId] = text;
  e.config.policies = policies;
}

function slugOf(v: unknown): string {
  const s = String(v ?? "");
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(s)) throw new Error(`bad slug "${s}"`);
  return s;
}

export function readConfig(ctx: CommandContext): Obj {
  if (!existsSync(ctx.configPath)) return {};
  return JSON.parse(readFileSync(ctx.configPath, "utf8")) as Obj;
}

/**
 * Read-modify-write of openclaw.json. The new text is first checked by OpenClaw itself
 * (`validateConfig`): a config it would refuse is never written, and the error carries its words.
 * When the gateway runs, the write is confirmed by asking it (`config.get`: the revision on disk is
 * the one it applied); a gateway that still refuses it gets the previous text back, so nothing is
 * half-applied.
 */
/** The anthropic provider's base URL in openclaw.json: the agent's model-proxy listener, or OpenClaw's default. */
async function setModelProxy(ctx: CommandContext, on: boolean): Promise<void> {
  if (on && !ctx.modelPort) throw new Error("this instance has no model proxy listener (no modelPort)");
  const baseUrl = `http://127.0.0.1:${ctx.modelPort}`;
  const cfg = readConfig(ctx);
  const current = cfg.models?.providers?.anthropic?.baseUrl;
  if (on ? current === baseUrl : current === undefined) return; // nothing to change (no config check, no reload)
  await updateConfig(ctx, (c) => {
    c.models ??= {};
    c.models.providers ??= {};
    if (on) c.models.providers.anthropic = { ...(c.models.providers.anthropic ?? {}), baseUrl };
    else if (c.models.providers.anthropic) {
      delete c.models.providers.anthropic.baseUrl;
      if (!Object.keys(c.models.providers.anthropic).length) delete c.models.providers.anthropic;
    }
  });
}

export async function updateConfig(ctx: CommandContext, edit: (cfg: Obj) => void): Promise<void> {
  const previous = existsSync(ctx.configPath) ? readFileSync(ctx.configPath, "utf8") : null;
  const cfg = readConfig(ctx);
  const before = JSON.stringify(cfg);
  edit(cfg);
  if (JSON.stringify(cfg) === before) return; // already so: nothing to reload
  const text = `${JSON.stringify(cfg, null, 2)}\n`;
  // OpenClaw's check costs seconds (a CLI start): a change of the gate's own config alone (a policy
  // edit, a setting) is left to the plugin's schema and to the gateway's verdict below.
  const issues = ctx.validateConfig && !onlyGateConfigChanged(before, cfg) ? await ctx.validateConfig(text) : null;
  if (issues?.length) throw new Error(`OpenClaw refuses this configuration, so nothing was changed: ${issues.join("; ")}`);
  const offset = logSize(ctx.gatewayLog);
  writeAtomic(ctx, ctx.configPath, text, MODE_PROTECTED);
  if (!(await ctx.gatewayRunning())) return;
  if (ctx.gateway && ctx.gatewayReady && (await ctx.gatewayReady())) {
    const s = await waitApplied(ctx.gateway, 20_000);
    if (!s.valid) {
      if (previous !== null) writeAtomic(ctx, ctx.configPath, previous, MODE_PROTECTED);
      throw new Error(`the gateway refused the configuration, so the previous one was restored: ${s.issues.join("; ")}`);
    }
    return;
  }
  await waitForReload(ctx.gatewayLog, offset, 10_000);
}

/** Whether `after` differs from the config `beforeJson` only inside plugins.entries.tropic-gate.config. */
function onlyGateConfigChanged(beforeJson: string, after: Obj): boolean {
  const strip = (c: Obj) => {
    const copy = JSON.parse(JSON.stringify(c)) as Obj;
    if (copy.plugins?.entries?.[PLUGIN_ID]) delete copy.plugins.entries[PLUGIN_ID].config;
    return JSON.stringify(copy);
  };
  return strip(JSON.parse(beforeJson)) === strip(after);
}

const gateOf = (gw: GatewayAddress) =>
  loadedState(gw).then(
    (s) => s.gate,
    () => null,
  );

/**
 * Whether the running gateway has the gate's switch as written (its `config.get` of the applied
 * revision, asked until it says so: its answer can lag the file for a moment). False when no gateway
 * runs or it does not say so within 30 s: the file is written, the gateway takes it when it (re)starts.
 */
async function confirmGateSwitch(ctx: CommandContext, want: Obj): Promise<boolean> {
  if (!ctx.gateway || !ctx.gatewayReady || !(await ctx.gatewayRunning())) return false;
  const packs = want.packs as Obj | undefined;
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    const g = (await ctx.gatewayReady()) ? await gateOf(ctx.gateway) : null;
    const samePacks = !packs || (["base", "system", "owasp"] as const).every((k) => packs[k] === undefined || g?.packs[k] === packs[k]);
    if (g && g.enabled === want.enabled && samePacks) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Whether the gateway runs agent `id` (its `agents.list`), retried for a while after a reload. A
 * gateway that is not up cannot say: that is an error naming why, and the control plane's status
 * pass marks the agent ready once the gateway lists it.
 */
async function confirmLoaded(ctx: CommandContext, id: string): Promise<boolean> {
  if (!ctx.gateway || !ctx.gatewayReady) return false; // unit tests: no gateway to ask
  const t0 = Date.now();
  let last = "";
  while (Date.now() - t0 < 30_000) {
    if (await ctx.gatewayReady()) {
      try {
        const s = await loadedState(ctx.gateway);
        if (s.agents.includes(id)) return true;
        if (!s.config.valid) last = `the gateway refuses its configuration: ${s.config.issues.join("; ")}`;
        else last = `the gateway has not loaded agent "${id}" (it runs: ${s.agents.join(", ") || "none"})`;
      } catch (e) {
        last = `the gateway did not answer: ${(e as Error).message}`;
      }
    } else last = `the gateway is not running (${ctx.gatewayTrouble?.() ?? "starting"}); the agent is saved and loads when it is up`;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(last);
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function waitForReload(log: string, offset: number, timeoutMs: number) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    try {
      const buf = readFileSync(log);
      const text = buf.subarray(offset).toString("utf8");
      if (/config hot reload applied|config reload skipped|reload.*(applied|restart)|restarting gateway/i.test(text)) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** KEY=value lines, 0600; `null` removes a key. Returns the names now set by this call. */
function writeEnv(ctx: CommandContext, vars: Record<string, string | null>): { names: string[]; changed: boolean } {
  const path = join(ctx.stateDir, ".env");
  const old = existsSync(path) ? readFileSync(path, "utf8") : "";
  const lines = old.split("\n").filter(Boolean);
  const map = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf("=");
    if (i > 0) map.set(l.slice(0, i), l.slice(i + 1));
  }
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(k)) throw new Error(`bad environment variable name "${k}"`);
    if (v === null) map.delete(k);
    else {
      if (/[\r\n]/.test(v)) throw new Error(`${k}: a value cannot contain a line break`);
      map.set(k, /[\s#"'$`\\]/.test(v) ? JSON.stringify(v) : v);
    }
  }
  const text = [...map].map(([k, v]) => `${k}=${v}\n`).join("");
  if (text !== old || !existsSync(path)) writeAtomic(ctx, path, text, MODE_PROTECTED);
  return { names: Object.keys(vars).filter((k) => vars[k] !== null), changed: text !== old };
}

/** Writes base/rel, refusing absolute paths, `..`, and any symlink on the way (the gateway's user owns these dirs). */
function writeUnder(ctx: CommandContext, base: string, rel: string, text: string, mode: number): string {
  const n = normalize(rel);
  if (!rel || isAbsolute(rel) || n.startsWith("..") || n.split(sep).includes("..")) throw new Error(`bad file path "${rel}"`);
  writeAtomic(ctx, join(base, n), text, mode);
  return join(base, n);
}

function writeAtomic(ctx: CommandContext, path: string, text: string, mode: number) {
  if (!path.startsWith(ctx.stateDir + sep)) throw new Error(`refusing to write outside the state directory: ${path}`);
  ensureDirs(ctx, dirname(path));
  noSymlink(path);
  const tmp = `${path}.tropic-${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: "wx" });
  chmodSync(tmp, mode);
  if (ctx.owner) chownSync(tmp, ctx.owner.uid, ctx.owner.gid);
  renameSync(tmp, path);
}

function ensureDirs(ctx: CommandContext, dir: string) {
  const rel = dir.slice(ctx.stateDir.length).split(sep).filter(Boolean);
  let cur = ctx.stateDir;
  for (const part of rel) {
    cur = join(cur, part);
    noSymlink(cur);
    if (!existsSync(cur)) {
      mkdirSync(cur, { mode: MODE_DIR });
      chmodSync(cur, MODE_DIR);
      if (ctx.owner) chownSync(cur, ctx.owner.uid, ctx.owner.gid);
    }
  }
}

function noSymlink(path: string) {
  try {
    if (lstatSync(path).isSymbolicLink()) throw new Error(`refusing to write through the symlink ${path}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** One public key line: type, base64 blob, optional comment; no options (command=, from=, …), no line breaks. */
function authorizedKeyLine(v: unknown): string {
  const line = String(v ?? "").trim();
  if (!/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9._@-]{1,100})?$/.test(line))
    throw new Error("bad public key line (expected `ssh-ed25519 AAAA… comment`)");
  return line;
}

/**
 * Writes <home>/.ssh/authorized_keys atomically: .ssh 0700 and the file 0600, owned by the instance's
 * user; refuses a symlinked home, .ssh or authorized_keys (the instance's user could plant one).
 */
function writeAuthorizedKeys(ctx: CommandContext, text: string): string {
  const home = ctx.homeDir ?? dirname(ctx.stateDir);
  noSymlink(home);
  if (!existsSync(home)) throw new Error(`the instance's home ${home} does not exist`);
  const dir = join(home, ".ssh");
  noSymlink(dir);
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o2750 });
  if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  chmodSync(dir, 0o2750); // setgid: the key file keeps the gateway's group
  if (ctx.owner) chownSync(dir, ctx.owner.uid, ctx.owner.gid);
  const path = join(dir, "authorized_keys");
  noSymlink(path);
  const tmp = `${path}.tropic-${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: MODE_PROTECTED, flag: "wx" });
  chmodSync(tmp, MODE_PROTECTED);
  if (ctx.owner) chownSync(tmp, ctx.owner.uid, ctx.owner.gid);
  renameSync(tmp, path);
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The most entries and bytes one read_gate_audit returns / reads. */
export const AUDIT_MAX_ENTRIES = 500;
export const AUDIT_MAX_BYTES = 4 * 1024 * 1024;
const AUDIT_DEFAULT_PATH = "~/.openclaw/.sondera/audit.log";

/** Where the gate writes its audit log (plugins.entries.tropic-gate.config.audit, resolved as the plugin does). */
export function gateAuditPath(ctx: CommandContext): { path: string; keep: number } {
  const a = (readConfig(ctx).plugins?.entries?.[PLUGIN_ID]?.config?.audit ?? {}) as Obj;
  const home = ctx.homeDir ?? dirname(ctx.stateDir);
  const p = typeof a.path === "string" && a.path.trim() ? a.path.trim() : AUDIT_DEFAULT_PATH;
  let path: string;
  if (p === "~/.openclaw" || p.startsWith("~/.openclaw/")) path = join(ctx.stateDir, p.slice("~/.openclaw".length));
  else if (p === "~" || p.startsWith("~/")) path = join(home, p.slice(1));
  else path = isAbsolute(p) ? p : join(ctx.stateDir, p);
  const keep = Number.isInteger(a.keep) && a.keep >= 1 && a.keep <= 100 ? (a.keep as number) : 5;
  return { path: normalize(path), keep };
}

/**
 * The last `limit` (≤ 500) entries of the gate's audit log that match the filters, newest first:
 * audit.log, then its rotations (audit.log.1 …), reading at most 4 MiB from their ends. Only a regular
 * file inside the instance's home or state directory is read, never through a symlink (the instance's
 * user owns those directories and could plant one).
 */
function readGateAudit(ctx: CommandContext, payload: Obj) {
  const limit = Math.min(AUDIT_MAX_ENTRIES, Math.max(1, Math.floor(Number(payload.limit) || 100)));
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const want = { tool: str(payload.tool), decision: str(payload.decision), agentId: str(payload.agentId) };
  const { path, keep } = gateAuditPath(ctx);
  const roots = [ctx.homeDir ?? dirname(ctx.stateDir), ctx.stateDir].map((r) => {
    try {
      return realpathSync(r);
    } catch {
      return r;
    }
  });
  const entries: Obj[] = [];
  let budget = AUDIT_MAX_BYTES;
  let scannedBytes = 0;
  let truncated = false;
  let files = 0;
  for (let i = 0; i <= keep && entries.length < limit && budget > 0; i++) {
    const file = i === 0 ? path : `${path}.${i}`;
    const text = readTail(file, roots, budget);
    if (text === null) {
      if (i === 0) continue; // no current log yet; older rotations may still exist
      break;
    }
    files++;
    scannedBytes += text.bytes;
    budget -= text.bytes;
    const lines = text.data.split("\n");
    if (text.partial) {
      lines.shift(); // the first line is cut
      truncated = true;
    }
    for (let j = lines.length - 1; j >= 0 && entries.length < limit; j--) {
      const e = auditEntry(lines[j]!);
      if (!e) continue;
      if (want.tool && e.tool !== want.tool) continue;
      if (want.decision && e.decision !== want.decision) continue;
      if (want.agentId && e.agentId !== want.agentId) continue;
      entries.push(e);
    }
  }
  return { entries, files, scannedBytes, truncated: truncated && entries.length < limit };
}

function readTail(file: string, roots: string[], max: number): { data: string; bytes: number; partial: boolean } | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new Error(`refusing to read the audit log through the symlink ${file}`);
    throw e;
  }
  try {
    const real = realpathSync(file);
    if (!roots.some((r) => real.startsWith(r + sep))) throw new Error(`the audit log ${file} is outside the instance's directories`);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`the audit log ${file} is not a regular file`);
    const bytes = Math.min(st.size, max);
    const buf = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(fd, buf, got, bytes - got, st.size - bytes + got);
      if (n <= 0) break;
      got += n;
    }
    return { data: buf.subarray(0, got).toString("utf8"), bytes: got, partial: bytes < st.size };
  } finally {
    closeSync(fd);
  }
}

/** One audit line → its known fields (strings cut at 2,000 characters); null for a line that is not an entry. */
function auditEntry(line: string): Obj | null {
  if (!line.trim()) return null;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return null;
  const r = o as Obj;
  if (typeof r.ts !== "string" || typeof r.tool !== "string" || typeof r.decision !== "string") return null;
  const s = (v: unknown) => (typeof v === "string" ? v.slice(0, 2000) : undefined);
  const list = (v: unknown) =>
    Array.isArray(v)
      ? v
          .filter((x) => typeof x === "string")
          .map((x: string) => x.slice(0, 200))
          .slice(0, 50)
      : [];
  const e: Obj = {
    ts: s(r.ts),
    phase: s(r.phase) ?? "call",
    agentId: s(r.agentId) ?? "main",
    tool: s(r.tool),
    decision: s(r.decision),
    rules: list(r.rules),
    durationMs: typeof r.durationMs === "number" ? r.durationMs : null,
  };
  for (const k of ["toolCallId", "sessionKey", "paramsDigest", "reason", "approval", "error"]) if (typeof r[k] === "string") e[k] = s(r[k]);
  if (Array.isArray(r.redactions)) e.redactions = list(r.redactions);
  return e;
}
