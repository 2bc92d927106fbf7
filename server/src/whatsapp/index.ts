// WhatsApp pairing and status (docs/whatsapp.md). Everything is asked of the instance's gateway through
// its agent, live (hub.request: cluster-aware, nothing stored): the control plane keeps no copy of the
// linked state. Pairing drives OpenClaw's own login loop, as its Control UI does: web.login.start → a
// QR (PNG data URL) → web.login.wait (returns early with a refreshed QR) → connected, or start
// {force:false} again after an unconnected return, each NEW QR sent on, until paired, expired (a login
// lives 3 minutes) or the caller goes away.
import type { CommandKind, WhatsAppPolicy, WhatsAppStatus } from "@tropic/agent";
import { AgentUnavailableError } from "../instances/hub.ts";
import { ApiError } from "../lib/errors.ts";

export type { WhatsAppPolicy, WhatsAppStatus };

/** What OpenClaw's own channel config can say of the Settings' phone rules, and what it cannot (the gate alone enforces that). */
export interface PhonePolicy {
  policy: WhatsAppPolicy;
  /** true: OpenClaw itself refuses DMs outside the allowlist (a second wall behind the gate) */
  enforcedByOpenClaw: boolean;
  /** what OpenClaw cannot express, in the user's words */
  notes: string[];
}

export function phonePolicy(s: { phoneMode: string; phonePatterns: string[] }): PhonePolicy {
  const pats = (s.phonePatterns ?? []).map((p) => p.trim()).filter(Boolean);
  const exact = pats.filter((p) => /^\+\d{6,15}$/.test(p));
  const wild = pats.filter((p) => !exact.includes(p));
  if (s.phoneMode === "allowlist") {
    const notes = wild.length
      ? [
          `OpenClaw's allowFrom takes whole numbers only: the pattern${wild.length > 1 ? "s" : ""} ${wild.join(", ")} cannot be expressed there and ${wild.length > 1 ? "are" : "is"} enforced by the gate alone.`,
        ]
      : [];
    if (!exact.length)
      return {
        policy: { dmPolicy: "pairing", allowFrom: [] },
        enforcedByOpenClaw: false,
        notes: [
          ...notes,
          "With no whole number in the allowlist, WhatsApp keeps OpenClaw's default DM policy (pairing); the gate enforces the allowlist.",
        ],
      };
    return { policy: { dmPolicy: "allowlist", allowFrom: exact }, enforcedByOpenClaw: true, notes };
  }
  if (s.phoneMode === "blocklist")
    return {
      policy: { dmPolicy: "pairing", allowFrom: [] },
      enforcedByOpenClaw: false,
      notes: ["OpenClaw cannot express a blocklist: WhatsApp keeps its default DM policy (pairing) and the gate alone refuses blocked numbers."],
    };
  return { policy: { dmPolicy: "pairing", allowFrom: [] }, enforcedByOpenClaw: false, notes: [] };
}

export type PairEvent =
  | { type: "status"; message: string }
  | { type: "qr"; qrDataUrl: string; n: number; message: string }
  | { type: "paired"; number: string | null }
  | { type: "expired"; message: string }
  | { type: "error"; message: string };

type Request = (
  instanceId: string,
  kind: CommandKind,
  payload: Record<string, unknown>,
  timeoutMs?: number,
) => Promise<{ ok: boolean; result?: unknown; error?: string }>;

/** one agent answer, or an ApiError in the interface's words */
async function ask<T>(request: Request, instanceId: string, kind: CommandKind, payload: Record<string, unknown>, timeoutMs: number): Promise<T> {
  let ack: { ok: boolean; result?: unknown; error?: string };
  try {
    ack = await request(instanceId, kind, payload, timeoutMs);
  } catch (e) {
    if (e instanceof AgentUnavailableError && e.reason === "timeout")
      throw new ApiError(504, "timeout", "the instance did not answer in time (it may be busy restarting); try again in a moment");
    if (e instanceof AgentUnavailableError) throw new ApiError(409, "conflict", "the instance is not running; start it first", "id");
    throw e;
  }
  if (!ack.ok) throw new ApiError(502, "instance_error", `the instance could not do it: ${ack.error ?? "unknown error"}`);
  // every WhatsApp command answers an object; anything else is an agent that does not know the command
  if (!ack.result || typeof ack.result !== "object")
    throw new ApiError(
      502,
      "instance_error",
      "the instance's agent did not answer about WhatsApp (it may be older than this control plane: update it)",
    );
  return ack.result as T;
}

export const LOGIN_LIFETIME_MS = 3 * 60_000;

export class WhatsApp {
  constructor(private request: Request) {}

  status(instanceId: string): Promise<WhatsAppStatus> {
    return ask(this.request, instanceId, "whatsapp_status", {}, 15_000);
  }

  unpair(instanceId: string): Promise<{ cleared: boolean; linked: boolean }> {
    return ask(this.request, instanceId, "whatsapp_logout", {}, 45_000);
  }

  /** Installs/enables the channel with the policy the Settings allow (idempotent). */
  enable(instanceId: string, policy: WhatsAppPolicy): Promise<WhatsAppStatus> {
    return ask(this.request, instanceId, "whatsapp_enable", { policy }, 150_000);
  }

  /**
   * The pairing loop; `emit` gets each event. Resolves with the last event (paired, expired or error).
   * `signal` aborts it (the client went away): nothing more is asked of the instance after that.
   */
  async pair(
    instanceId: string,
    policy: WhatsAppPolicy,
    emit: (e: PairEvent) => void,
    signal: AbortSignal,
    opts: { lifetimeMs?: number; waitMs?: number } = {},
  ): Promise<PairEvent> {
    const end = (e: PairEvent) => {
      emit(e);
      return e;
    };
    const deadline = Date.now() + (opts.lifetimeMs ?? LOGIN_LIFETIME_MS);
    const waitMs = opts.waitMs ?? 20_000;
    try {
      emit({ type: "status", message: "enabling WhatsApp on the instance" });
      const s = await this.enable(instanceId, policy);
      if (s.linked) return end({ type: "paired", number: s.number });
      if (signal.aborted) return end({ type: "error", message: "cancelled" });
      emit({ type: "status", message: "asking WhatsApp for a pairing QR" });
      type Login = { connected: boolean; message: string; qrDataUrl: string | null };
      let r = await ask<Login>(this.request, instanceId, "whatsapp_login", { step: "start", force: false, timeoutMs: 30_000 }, 60_000);
      let last: string | null = null;
      let n = 0;
      while (!signal.aborted) {
        if (r.connected) break;
        if (r.qrDataUrl && r.qrDataUrl !== last) {
          last = r.qrDataUrl;
          emit({ type: "qr", qrDataUrl: last, n: ++n, message: r.message });
        }
        if (!last) {
          // no QR and not connected: already linked (a status says) or a refusal in OpenClaw's words
          const st = await this.status(instanceId);
          if (st.linked) return end({ type: "paired", number: st.number });
          return end({ type: "error", message: r.message || "WhatsApp gave no QR" });
        }
        const left = deadline - Date.now();
        if (left <= 0) break;
        const w = await ask<Login>(
          this.request,
          instanceId,
          "whatsapp_login",
          { step: "wait", timeoutMs: Math.max(1000, Math.min(waitMs, left)), currentQrDataUrl: last },
          Math.min(waitMs, left) + 30_000,
        );
        if (w.connected || w.qrDataUrl || signal.aborted) {
          r = w;
          continue;
        }
        if (Date.now() >= deadline) break;
        // unconnected, no new QR: start again without force (OpenClaw's UI does the same)
        r = await ask<Login>(this.request, instanceId, "whatsapp_login", { step: "start", force: false, timeoutMs: 30_000 }, 60_000);
      }
      if (signal.aborted) return end({ type: "error", message: "cancelled" });
      if (r.connected) {
        const st = await this.status(instanceId).catch(() => null);
        return end({ type: "paired", number: st?.number ?? null });
      }
      return end({ type: "expired", message: "The QR expired before it was scanned. Retry to get a new one." });
    } catch (e) {
      return end({ type: "error", message: (e as Error).message });
    }
  }
}
