import { and, eq, isNull, sql } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { enqueueCommand, enqueueModelKeySync } from "../instances/commands.ts";
import { PROVIDERS } from "@tropic/providers";
import { awsMissing } from "../config.ts";
import { availableProviders, awsNotConfigured, createInstance, offeredInfo } from "../instances/create.ts";
import { hostOut, hostView } from "../hosts/view.ts";
import { gateView, setGate } from "../instances/gate-switch.ts";
import { recordEvent } from "../lib/audit.ts";
import { postureSummaries } from "../posture/store.ts";
import { conflict, isUniqueViolation, notFound } from "../lib/errors.ts";
import { decodeCursor, page, pageQuery } from "../lib/pagination.ts";
import type { RouteDeps } from "./index.ts";
import { checkLimits } from "../credits/meter.ts";
import { computeRate, loadRates } from "../credits/rates.ts";
import { idParam, iso, isoNullable, name, pageOf } from "./schemas.ts";
import { beforeCursor, newestFirst } from "./scope.ts";

const packsOut = z.object({ base: z.boolean(), system: z.boolean(), owasp: z.boolean() });
const gateOut = z.object({
  enabled: z.boolean().describe("desired: whether the tool-call gate (Sondera) checks this instance's tool calls"),
  packs: packsOut.describe("desired rule packs: base (on while the gate is on), system and owasp (opt-in)"),
  observed: z
    .object({ enabled: z.boolean(), packs: packsOut })
    .nullable()
    .describe("the gate as the instance's agent last read it from the running gateway; null when not running or not reported yet"),
  pending: z.boolean().describe("the running instance has not yet reported the desired state"),
  off: z.boolean().describe("the instance runs without its gate: its tool calls are not checked"),
});

export const instanceOut = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string(),
  region: z.string(),
  instanceType: z.string(),
  desiredState: z.string(),
  state: z.string(),
  stateReason: z.string().nullable(),
  addresses: z.record(z.string(), z.unknown()),
  createdAt: iso,
  updatedAt: iso,
  startedAt: isoNullable,
  lastHealthAt: isoNullable,
  /** the instance agent's last report: gateway and agent pid, RSS, uptime, restarts, readiness */
  metrics: z.record(z.string(), z.unknown()),
  agentSeenAt: isoNullable,
  /** why the credit meter paused it (daily_cap, session_limit, no_credits, no_rate; stateReason says it in words), or null */
  pauseReason: z.string().nullable(),
  /** when a daily_cap pause ends by itself (the next UTC day) */
  pausedUntil: isoNullable,
  /** a `byo` instance's machine once it enrolled (hosts/): OS, architecture, versions, last seen, connected */
  host: hostOut.nullable().optional(),
  /** host posture (posture/, docs/hardening.md): the latest audit's score and time, open integrity incidents; null: never audited (list and get) */
  posture: z.object({ score: z.number(), at: z.string(), openIncidents: z.number() }).nullable().optional(),
  /** the gate's switch (instances/gate-switch.ts): desired state, what the gateway reports, pending, running without the gate */
  gate: gateOut.optional(),
});

/** A row as the API shows it: the host's details with its agent's last report and connection. */
export function instanceView<T extends typeof instances.$inferSelect>(row: T, manager: RouteDeps["instances"]) {
  return { ...row, host: hostView(row, manager), gate: gateView(row) };
}

const createBody = z.strictObject({
  name: name.describe("unique among the caller's instances (409 when taken)"),
  provider: z
    .string()
    .max(40)
    .default("local")
    .describe(
      'where it runs: "local" (a sandboxed process on the Tropic host), "aws" (an EC2 VM: docs/aws.md) or another provider this server offers (GET /api/v1/providers); others are refused naming `provider`, and "aws" without AWS configured names the settings to set',
    ),
  region: z
    .string()
    .max(40)
    .optional()
    .describe("aws: us-east-1, ap-southeast-1, eu-west-1 or eu-west-2 (those configured here); default the first offered"),
  instanceType: z
    .string()
    .max(40)
    .optional()
    .describe("aws: t3.micro (default), t3.small or t3.medium (those configured here); without it, the owner's Settings default"),
});

const providerOut = z.object({
  id: z.string(),
  label: z.string(),
  available: z.boolean().describe("whether instances of this provider can be created on this server now"),
  missing: z.array(z.string()).describe("what to configure first (environment variables, docs/aws.md) when not available"),
  message: z.string().nullable().describe("why it is not available, in words"),
  regions: z.array(z.string()),
  defaultRegion: z.string(),
  instanceTypes: z.array(
    z.object({
      id: z.string(),
      label: z.string(),
      vcpu: z.number(),
      memoryGb: z.number(),
      creditsPerHour: z.number().nullable().describe("compute credits per hour while it runs (docs/credits.md)"),
    }),
  ),
  defaultInstanceType: z.string(),
});

const nameTaken = (n: string) => conflict("name", `an instance named "${n}" already exists`);

/** Loads an instance the caller owns; anything else is 404 so ids of others leak nothing. */
export async function ownedInstance(db: Db, ownerId: string, id: string) {
  const [row] = await db
    .select()
    .from(instances)
    .where(and(eq(instances.id, id), eq(instances.ownerId, ownerId), isNull(instances.deletedAt)))
    .limit(1);
  if (!row) throw notFound("instance");
  return row;
}

export const instanceRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, kek, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["instances"];

  app.get("/api/v1/instances", { schema: { tags, querystring: pageQuery, response: { 200: pageOf(instanceOut) } } }, async (req) => {
    const cursor = decodeCursor(req.query.cursor);
    const rows = await db
      .select()
      .from(instances)
      .where(and(eq(instances.ownerId, req.caller!.id), isNull(instances.deletedAt), beforeCursor(instances.createdAt, instances.id, cursor)))
      .orderBy(...newestFirst(instances.createdAt, instances.id))
      .limit(req.query.limit + 1);
    const posture = await postureSummaries(
      db,
      rows.map((r) => r.id),
    );
    return page(
      rows.map((r) => ({ ...instanceView(r, manager), posture: posture.get(r.id) ?? null })),
      req.query.limit,
    );
  });

  // Where instances can run here: what Add Instance offers, with each type's credits per hour, and for
  // a provider that is not configured, what to set.
  app.get(
    "/api/v1/providers",
    {
      schema: {
        tags,
        summary: "The providers, regions and instance types this server offers (with compute credits per hour); unconfigured ones say what to set",
        response: { 200: z.object({ items: z.array(providerOut) }) },
      },
    },
    async () => {
      const available = availableProviders(manager, config);
      const rates = loadRates(config.ratesFile);
      const items = Object.values(PROVIDERS).map((catalog) => {
        const info = offeredInfo(catalog, config);
        const missing = info.id === "aws" ? awsMissing(config) : [];
        const on = available.includes(info.id) && !missing.length;
        return {
          ...info,
          available: on,
          missing,
          message: missing.length ? awsNotConfigured(missing).message : on ? null : `${info.label} instances do not run on this server`,
          instanceTypes: info.instanceTypes.map((t) => ({ ...t, creditsPerHour: computeRate(rates, t.id) ?? null })),
        };
      });
      return { items };
    },
  );

  app.post("/api/v1/instances", { schema: { tags, body: createBody, response: { 201: instanceOut } } }, async (req, reply) => {
    const row = await createInstance({ db, config, kek, manager }, req.caller!.id, req.body, req.ip);
    return reply.code(201).send(instanceView(row, manager));
  });

  app.get("/api/v1/instances/:id", { schema: { tags, params: idParam, response: { 200: instanceOut } } }, async (req) => {
    const row = await ownedInstance(db, req.caller!.id, req.params.id);
    return { ...instanceView(row, manager), posture: (await postureSummaries(db, [row.id])).get(row.id) ?? null };
  });

  app.patch(
    "/api/v1/instances/:id",
    { schema: { tags, params: idParam, body: z.strictObject({ name }), response: { 200: instanceOut } } },
    async (req) => {
      const ownerId = req.caller!.id;
      const inst = await ownedInstance(db, ownerId, req.params.id);
      const [row] = await db
        .update(instances)
        .set({ name: req.body.name, updatedAt: new Date() })
        .where(
          and(
            eq(instances.id, inst.id),
            eq(instances.ownerId, ownerId),
            sql`NOT EXISTS (SELECT 1 FROM instances other WHERE other.owner_id = ${ownerId} AND other.name = ${req.body.name} AND other.deleted_at IS NULL AND other.id <> ${inst.id})`,
          ),
        )
        .returning()
        .catch((err) => {
          throw isUniqueViolation(err, "instances_owner_name_key") ? nameTaken(req.body.name) : err;
        });
      if (!row) throw nameTaken(req.body.name);
      return instanceView(row, manager);
    },
  );

  // Start/stop record desired state; the reconciler drives the provider to it. Restart asks the
  // instance agent to restart the gateway (queued if the agent is offline).
  for (const action of ["start", "stop", "restart"] as const) {
    app.post(`/api/v1/instances/:id/${action}`, { schema: { tags, params: idParam, response: { 202: instanceOut } } }, async (req, reply) => {
      const inst = await ownedInstance(db, req.caller!.id, req.params.id);
      const desiredState = action === "stop" ? "stopped" : "running";
      const [row] = await db
        .update(instances)
        .set({
          desiredState,
          ...(action === "stop" && inst.state === "running" ? { state: "stopping" as const } : {}),
          // The user's own start or stop ends a pause by the credit meter (a limit still hit pauses it again, below).
          ...(inst.pauseReason ? { pauseReason: null, pausedAt: null, pausedUntil: null, stateReason: null } : {}),
          updatedAt: new Date(),
        })
        .where(and(eq(instances.id, inst.id), eq(instances.ownerId, req.caller!.id)))
        .returning();
      // …and on every start (a key changed while it was stopped is synced now).
      if (action === "start") await enqueueModelKeySync(db, req.caller!.id, [inst.id], config.platformAnthropicKey !== undefined);
      if (action === "restart" && inst.desiredState === "running" && inst.providerRef)
        await enqueueCommand(db, { ownerId: inst.ownerId, instanceId: inst.id, kind: "restart_gateway", payload: {} });
      await recordEvent(db, { ownerId: req.caller!.id, action: `instance.${action}`, objectType: "instance", objectId: inst.id });
      // A start while a spending limit is still hit is paused again at once, with the reason, not after 5 minutes of charges.
      const limits =
        action === "stop" ? { paused: [], resumed: [] } : await checkLimits(database.pool, req.caller!.id, { rates: loadRates(config.ratesFile) });
      for (const id of new Set([inst.id, ...limits.paused, ...limits.resumed])) await manager?.changed(id);
      return reply.code(202).send(instanceView(limits.paused.includes(inst.id) ? await ownedInstance(db, req.caller!.id, inst.id) : row!, manager));
    });
  }

  // The gate's switch (docs/security.md "Turning the gate off"): the desired state, enforced by the instance's agent.
  app.put(
    "/api/v1/instances/:id/gate",
    {
      schema: {
        tags,
        summary: "Turn the instance's tool-call gate (Sondera) on or off and choose its rule packs; an audit event; the instance's agent applies it",
        params: idParam,
        body: z.strictObject({
          enabled: z.boolean().describe("false: the instance's tool calls are no longer checked (the dashboard and CLI ask for confirmation first)"),
          packs: z
            .strictObject({ base: z.boolean().optional(), system: z.boolean().optional(), owasp: z.boolean().optional() })
            .optional()
            .describe("packs to change (others stay): base stays on while the gate is on; system and owasp are opt-in"),
        }),
        response: { 200: instanceOut },
      },
    },
    async (req) => {
      const inst = await ownedInstance(db, req.caller!.id, req.params.id);
      const row = await setGate(db, inst, req.caller!.id, req.body);
      return { ...instanceView(row, manager), posture: (await postureSummaries(db, [row.id])).get(row.id) ?? null };
    },
  );

  app.delete("/api/v1/instances/:id", { schema: { tags, params: idParam } }, async (req, reply) => {
    const inst = await ownedInstance(db, req.caller!.id, req.params.id);
    // Phase one of a two-phase destroy: mark it; the reconciler tears the machine down, then the row.
    await db
      .update(instances)
      .set({ desiredState: "deleted", state: "deleting", deletedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(instances.id, inst.id), eq(instances.ownerId, req.caller!.id)));
    await recordEvent(db, { ownerId: req.caller!.id, action: "instance.delete", objectType: "instance", objectId: inst.id });
    await manager?.changed(inst.id);
    return reply.code(202).send({ id: inst.id, state: "deleting" });
  });
};
