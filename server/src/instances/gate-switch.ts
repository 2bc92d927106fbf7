// The gate's switch (issue 19, docs/security.md "Turning the gate off"): Sondera is instance-wide and
// is turned on or off, with its rule packs, per instance. The control plane keeps the desired state
// (instances.gate_enabled, gate_packs) and sends it to the instance's agent (`set_gate_config`),
// which writes it into openclaw.json (plugins.entries.tropic-gate.config.enabled and .packs), a file
// the gateway's user can read but not write: nothing a tool call does can turn the gate off. What
// the card shows as the gate's state is what the agent read from the running gateway (its status).
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { type GatePacks, instanceCommands, instances } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest } from "../lib/errors.ts";
import { enqueueCommand, supersedePending } from "./commands.ts";

export const DEFAULT_PACKS: GatePacks = { base: true, system: false, owasp: false };
export const PACK_NAMES = ["base", "system", "owasp"] as const;
/** The payload key that marks a gate-switch command among `set_gate_config` ones (supersedePending). */
const MARKER = "gateSwitch";

type InstanceRow = typeof instances.$inferSelect;

/** The gate's state as the instance's agent last read it from the running gateway, or null when unknown. */
export interface ObservedGate {
  enabled: boolean;
  packs: GatePacks;
}

/** What the instance card shows: desired, observed, and whether the instance runs without its gate. */
export interface GateView {
  enabled: boolean;
  packs: GatePacks;
  observed: ObservedGate | null;
  /** the agent has not yet reported the desired state from the gateway */
  pending: boolean;
  /** the instance runs and its gateway says the gate is off */
  off: boolean;
}

export function packsOf(v: unknown): GatePacks {
  const p = (v && typeof v === "object" ? v : {}) as Partial<Record<string, unknown>>;
  return { base: p.base !== false, system: p.system === true, owasp: p.owasp === true };
}

/** The `gate` of an agent status (agent/src/protocol.ts AgentStatus.gate), when it is one. */
export function observedGate(metrics: Record<string, unknown> | null | undefined): ObservedGate | null {
  const g = metrics?.gate as { enabled?: unknown; packs?: unknown } | null | undefined;
  if (!g || typeof g.enabled !== "boolean") return null;
  return { enabled: g.enabled, packs: packsOf(g.packs) };
}

const isDefault = (row: Pick<InstanceRow, "gateEnabled" | "gatePacks">) => {
  const p = packsOf(row.gatePacks);
  return row.gateEnabled && PACK_NAMES.every((k) => p[k] === DEFAULT_PACKS[k]);
};

export function gateView(row: InstanceRow): GateView {
  const packs = packsOf(row.gatePacks);
  const observed = row.state === "running" ? observedGate(row.metrics) : null;
  const same = (o: ObservedGate) => o.enabled === row.gateEnabled && (!o.enabled || PACK_NAMES.every((k) => o.packs[k] === packs[k]));
  return {
    enabled: row.gateEnabled,
    packs,
    observed,
    // (an agent that does not report the gate yet: pending only when something other than the default was asked)
    pending: row.state === "running" && (observed ? !same(observed) : !isDefault(row)),
    off: row.state === "running" && (observed ? !observed.enabled : !row.gateEnabled),
  };
}

/** The gate plugin's config keys for an instance's desired state (plugin/src/config.ts). */
export function gateSwitchConfig(row: Pick<InstanceRow, "gateEnabled" | "gatePacks">) {
  return { enabled: row.gateEnabled, packs: packsOf(row.gatePacks) };
}

export interface GateBody {
  enabled: boolean;
  packs?: Partial<GatePacks>;
}

/**
 * Sets an instance's desired gate state: recorded (an audit event: gate.disable, gate.enable or
 * gate.packs), and sent to its agent, superseding a switch not yet delivered. Refused naming the
 * field: the base pack stays on while the gate is on (it guards Tropic's own defences; running
 * without them is what the switch itself is for, and that asks for confirmation).
 */
export async function setGate(db: Db, inst: InstanceRow, actorId: string, body: GateBody): Promise<InstanceRow> {
  const packs = { ...packsOf(inst.gatePacks), ...(body.packs ?? {}) };
  if (body.enabled && !packs.base)
    throw badRequest(
      "packs.base",
      "the base pack stays on while the gate is on: it protects Tropic's own defences (the gate's config, credentials, the instance agent); to run without the gate, turn the gate off (enabled: false)",
    );
  const [row] = await db
    .update(instances)
    .set({ gateEnabled: body.enabled, gatePacks: packs, updatedAt: new Date() })
    .where(and(eq(instances.id, inst.id), eq(instances.ownerId, inst.ownerId)))
    .returning();
  const action = body.enabled === inst.gateEnabled ? "gate.packs" : body.enabled ? "gate.enable" : "gate.disable";
  await recordEvent(db, {
    ownerId: inst.ownerId,
    actorId,
    action,
    objectType: "instance",
    objectId: inst.id,
    details: { enabled: body.enabled, packs, before: { enabled: inst.gateEnabled, packs: packsOf(inst.gatePacks) } },
  });
  await sendGate(db, row!);
  return row!;
}

/** Queues the instance's desired gate state for its agent (a pending older one is cancelled). */
export async function sendGate(db: Db, row: InstanceRow): Promise<void> {
  await supersedePending(db, row.id, "set_gate_config", MARKER);
  await enqueueCommand(db, {
    ownerId: row.ownerId,
    instanceId: row.id,
    kind: "set_gate_config",
    payload: { [MARKER]: true, config: gateSwitchConfig(row) },
  });
}

/**
 * When an instance's agent connects (a restart, a re-provisioned machine with a fresh openclaw.json):
 * a desired state other than the plugin's default is sent again, unless a switch is already queued,
 * so the instance converges to it before its gateway starts.
 */
export async function resendGateOnConnect(db: Db, instanceId: string): Promise<void> {
  const [row] = await db.select().from(instances).where(eq(instances.id, instanceId)).limit(1);
  if (!row || row.deletedAt) return;
  if (isDefault(row)) return;
  const open = await db
    .select({ payload: instanceCommands.payload })
    .from(instanceCommands)
    .where(
      and(
        eq(instanceCommands.instanceId, instanceId),
        eq(instanceCommands.kind, "set_gate_config"),
        inArray(instanceCommands.state, ["pending", "sent"]),
      ),
    );
  if (open.some((c) => c.payload[MARKER] === true)) return;
  await sendGate(db, row);
}

/** The packs an audit compares the gate with (its gate.packs check): the instance's desired ones. */
export async function auditPacks(db: Db, instanceId: string): Promise<string[]> {
  const [row] = await db
    .select({ gateEnabled: instances.gateEnabled, gatePacks: instances.gatePacks })
    .from(instances)
    .where(eq(instances.id, instanceId))
    .limit(1);
  if (!row) return ["base"];
  const packs = packsOf(row.gatePacks);
  return PACK_NAMES.filter((k) => packs[k]);
}
