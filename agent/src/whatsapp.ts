// WhatsApp on an instance (docs/whatsapp.md): OpenClaw's channel plugin enabled in openclaw.json, the
// pairing QR driven through the gateway's own login methods (web.login.start / web.login.wait, which
// the channel plugin implements), the linked state and number read from the gateway (channels.status),
// unpairing (channels.logout), and the phone rules of Settings written into the channel's own config
// (channels.whatsapp.dmPolicy / allowFrom) so OpenClaw refuses DM targets the gate would refuse too.
import { type CommandContext, readConfig, tropicWrote, updateConfig } from "./commands.ts";
import { type GatewayAddress, withGateway } from "./gateway-rpc.ts";

export const WHATSAPP_ID = "whatsapp";
export const DM_POLICIES = ["pairing", "allowlist", "open", "disabled"] as const;
export type DmPolicy = (typeof DM_POLICIES)[number];
export interface WhatsAppPolicy {
  dmPolicy: DmPolicy;
  allowFrom: string[];
}
export interface WhatsAppStatus {
  /** Tropic asked for the channel (openclaw.json) */
  enabled: boolean;
  /** the gateway runs the channel (channels.status lists it) */
  loaded: boolean;
  /** the gateway says a WhatsApp account is linked */
  linked: boolean;
  /** the linked number (E.164), as the gateway reports it */
  number: string | null;
  connected: boolean;
  /** the channel's DM policy as the gateway resolved it (null: not reported) */
  dmPolicy: string | null;
  allowFrom: string[];
}

type Obj = Record<string, any>;
const ADMIN = ["operator.read", "operator.admin"];
/** one login wait at most (the agent runs commands one at a time: a wait holds the others back) */
export const MAX_WAIT_MS = 30_000;

function gatewayOf(ctx: CommandContext): GatewayAddress {
  if (!ctx.gateway) throw new Error("this agent has no gateway to ask");
  return ctx.gateway;
}

/** A policy from the control plane, checked: a DM policy OpenClaw knows and E.164 numbers. */
export function policyOf(v: unknown): WhatsAppPolicy {
  const p = (v ?? {}) as Obj;
  if (!DM_POLICIES.includes(p.dmPolicy)) throw new Error(`dmPolicy must be one of ${DM_POLICIES.join(", ")}`);
  const allowFrom = Array.isArray(p.allowFrom) ? p.allowFrom.map(String) : [];
  for (const n of allowFrom) if (!/^\+\d{6,15}$/.test(n)) throw new Error(`allowFrom: "${n}" is not an E.164 number`);
  if (p.dmPolicy === "allowlist" && !allowFrom.length) throw new Error("dmPolicy allowlist needs at least one number in allowFrom");
  return { dmPolicy: p.dmPolicy, allowFrom };
}

function applyPolicy(cfg: Obj, policy: WhatsAppPolicy) {
  cfg.channels ??= {};
  const cur = { ...(cfg.channels[WHATSAPP_ID] ?? {}) };
  cur.dmPolicy = policy.dmPolicy;
  if (policy.allowFrom.length) cur.allowFrom = policy.allowFrom;
  else delete cur.allowFrom;
  cfg.channels[WHATSAPP_ID] = cur;
}

export function whatsappEnabled(cfg: Obj): boolean {
  return cfg.plugins?.entries?.[WHATSAPP_ID]?.enabled === true && cfg.channels?.[WHATSAPP_ID] !== undefined;
}

export async function whatsappCommand(ctx: CommandContext, kind: string, payload: Obj): Promise<unknown> {
  switch (kind) {
    case "whatsapp_enable":
      return enable(ctx, policyOf(payload.policy));
    case "whatsapp_policy": {
      const policy = policyOf(payload.policy);
      if (!whatsappEnabled(readConfig(ctx))) return { enabled: false, applied: false };
      await updateConfig(ctx, (cfg) => applyPolicy(cfg, policy));
      await tropicWrote(ctx, { config: true });
      return { enabled: true, applied: true, ...policy };
    }
    case "whatsapp_login": {
      const gw = gatewayOf(ctx);
      const timeoutMs = Math.min(MAX_WAIT_MS, Math.max(1000, Number(payload.timeoutMs) || 20_000));
      if (payload.step === "start") {
        const r = await withGateway(
          gw,
          (call) => call("web.login.start", { channel: WHATSAPP_ID, force: payload.force === true, timeoutMs }),
          timeoutMs + 10_000,
          ADMIN,
        );
        return loginResult(r);
      }
      if (payload.step === "wait") {
        const params: Obj = { channel: WHATSAPP_ID, timeoutMs };
        if (typeof payload.currentQrDataUrl === "string" && payload.currentQrDataUrl.startsWith("data:image/png;base64,"))
          params.currentQrDataUrl = payload.currentQrDataUrl;
        const r = await withGateway(gw, (call) => call("web.login.wait", params), timeoutMs + 10_000, ADMIN);
        return loginResult(r);
      }
      throw new Error('whatsapp_login needs step "start" or "wait"');
    }
    case "whatsapp_status":
      return status(ctx);
    case "whatsapp_logout": {
      const r = await withGateway(gatewayOf(ctx), (call) => call("channels.logout", { channel: WHATSAPP_ID }), 30_000, ADMIN);
      const s = await status(ctx);
      return { cleared: Boolean(r?.cleared ?? r?.loggedOut), linked: s.linked };
    }
    default:
      throw new Error(`unknown command "${kind}"`);
  }
}

/** What the login methods answered, only its known fields (a QR is a PNG data URL, at most 16 KB as OpenClaw's schema says). */
function loginResult(r: Obj) {
  const qr =
    typeof r?.qrDataUrl === "string" && r.qrDataUrl.startsWith("data:image/png;base64,") && r.qrDataUrl.length <= 16_384 ? r.qrDataUrl : null;
  return { connected: r?.connected === true, message: typeof r?.message === "string" ? r.message.slice(0, 500) : "", qrDataUrl: qr };
}

/** The channel as the gateway reports it (channels.status), with whether Tropic enabled it. */
export async function status(ctx: CommandContext): Promise<WhatsAppStatus> {
  const enabled = whatsappEnabled(readConfig(ctx));
  const s = await withGateway(gatewayOf(ctx), (call) => call("channels.status", {}));
  return statusOf(enabled, s);
}

export function statusOf(enabled: boolean, s: Obj): WhatsAppStatus {
  const loaded = Array.isArray(s?.channelOrder) && s.channelOrder.includes(WHATSAPP_ID);
  const sum = (s?.channels?.[WHATSAPP_ID] ?? {}) as Obj;
  const acct = ((s?.channelAccounts?.[WHATSAPP_ID] ?? [])[0] ?? {}) as Obj;
  const linked = loaded && (sum.linked === true || acct.linked === true);
  const e164 = sum.self?.e164 ?? acct.self?.e164 ?? null;
  return {
    enabled,
    loaded,
    linked,
    number: linked && typeof e164 === "string" ? e164 : null,
    connected: sum.connected === true || acct.connected === true,
    dmPolicy: typeof acct.dmPolicy === "string" ? acct.dmPolicy : null,
    allowFrom: Array.isArray(acct.allowFrom) ? acct.allowFrom.map(String) : [],
  };
}

/**
 * Loads OpenClaw's WhatsApp plugin from where the control plane shipped it (the runtime's
 * node_modules/@openclaw/whatsapp, named in the launch's desired state), allows and enables it, writes
 * the channel's DM policy, and waits until the gateway says it runs the channel (hot reload; one
 * restart when the reload did not load it).
 */
async function enable(ctx: CommandContext, policy: WhatsAppPolicy) {
  const dir = ctx.whatsappPluginDir;
  if (!dir)
    throw new Error("OpenClaw's WhatsApp plugin is not installed where this instance runs (reinstall the runtime: it ships @openclaw/whatsapp)");
  await updateConfig(ctx, (cfg) => {
    cfg.plugins ??= {};
    cfg.plugins.load ??= {};
    const paths: string[] = Array.isArray(cfg.plugins.load.paths) ? cfg.plugins.load.paths : [];
    if (!paths.includes(dir)) cfg.plugins.load.paths = [...paths, dir];
    // An allowlist that exists must name it (one that does not exist allows every plugin found).
    if (Array.isArray(cfg.plugins.allow) && !cfg.plugins.allow.includes(WHATSAPP_ID)) cfg.plugins.allow = [...cfg.plugins.allow, WHATSAPP_ID];
    if (Array.isArray(cfg.plugins.deny)) cfg.plugins.deny = cfg.plugins.deny.filter((x: string) => x !== WHATSAPP_ID);
    cfg.plugins.entries ??= {};
    cfg.plugins.entries[WHATSAPP_ID] = { ...(cfg.plugins.entries[WHATSAPP_ID] ?? {}), enabled: true };
    applyPolicy(cfg, policy);
  });
  await tropicWrote(ctx, { config: true });
  let s = await waitLoaded(ctx, 20_000);
  if (!s?.loaded) {
    await ctx.restartGateway();
    s = await waitLoaded(ctx, 60_000);
  }
  if (!s?.loaded)
    throw new Error(`the gateway did not load the WhatsApp channel (${ctx.gatewayTrouble?.() ?? "it is not listed by channels.status"})`);
  return s;
}

async function waitLoaded(ctx: CommandContext, ms: number): Promise<WhatsAppStatus | null> {
  const t0 = Date.now();
  let last: WhatsAppStatus | null = null;
  while (Date.now() - t0 < ms) {
    try {
      last = await status(ctx);
      if (last.loaded) return last;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}
