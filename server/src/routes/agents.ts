import { and, count, eq, ne, sql } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { getTemplate } from "@tropic/marketplace";
import type { Db } from "../db/connect.ts";
import { agents, instances, policies } from "../db/schema.ts";
import { enqueueAgentDeploy, enqueueAgentRemoval, enqueueCommand, policyTextOf } from "../instances/commands.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest, conflict, notFound } from "../lib/errors.ts";
import { decodeCursor, page, pageQuery } from "../lib/pagination.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam, iso, name, pageOf, slug } from "./schemas.ts";
import { beforeCursor, newestFirst } from "./scope.ts";

/** The seed's limit: up to 5 agents run concurrently on one instance. */
export const MAX_AGENTS_PER_INSTANCE = 5;

const agentOut = z.object({
  id: z.string(),
  instanceId: z.string(),
  slug: z.string(),
  name: z.string(),
  templateId: z.string(),
  model: z.string(),
  policyId: z.string().nullable(),
  state: z.string(),
  stateReason: z.string().nullable(),
  createdAt: iso,
  updatedAt: iso,
});
// A preset id, or a custom "<provider>/<model id>".
const model = z
  .string()
  .max(120)
  .regex(/^[a-z0-9][a-z0-9-]{0,39}\/[A-Za-z0-9._:-]{1,80}$/, 'must be a preset model id or "<provider>/<model id>"');

const deployBody = z.strictObject({
  instanceId: z.uuid("must be a UUID"),
  templateId: z.string().max(80),
  name: name.optional(),
  slug: slug.optional(),
  model: model.optional(),
  policyId: z.uuid("must be a UUID").nullable().optional(),
});
const patchBody = z.strictObject({ name: name.optional(), model: model.optional(), policyId: z.uuid("must be a UUID").nullable().optional() });

async function ownedAgent(db: Db, ownerId: string, id: string) {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.id, id), eq(agents.ownerId, ownerId)))
    .limit(1);
  if (!row) throw notFound("agent");
  return row;
}

async function checkPolicy(db: Db, ownerId: string, policyId: string | null | undefined) {
  if (!policyId) return;
  const [p] = await db
    .select({ id: policies.id })
    .from(policies)
    .where(and(eq(policies.id, policyId), eq(policies.ownerId, ownerId)))
    .limit(1);
  if (!p) throw badRequest("policyId", "no policy with this id; create it first or omit policyId");
}

function safeTemplate(id: string) {
  try {
    return getTemplate(id);
  } catch {
    return undefined;
  }
}

export const agentRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["agents"];

  app.get(
    "/api/v1/agents",
    {
      schema: {
        tags,
        querystring: pageQuery.extend({ instanceId: z.uuid("must be a UUID").optional() }),
        response: { 200: pageOf(agentOut) },
      },
    },
    async (req) => {
      const cursor = decodeCursor(req.query.cursor);
      const rows = await db
        .select()
        .from(agents)
        .where(
          and(
            eq(agents.ownerId, req.caller!.id),
            req.query.instanceId ? eq(agents.instanceId, req.query.instanceId) : undefined,
            beforeCursor(agents.createdAt, agents.id, cursor),
          ),
        )
        .orderBy(...newestFirst(agents.createdAt, agents.id))
        .limit(req.query.limit + 1);
      return page(rows, req.query.limit);
    },
  );

  app.post("/api/v1/agents", { schema: { tags, body: deployBody, response: { 201: agentOut } } }, async (req, reply) => {
    const ownerId = req.caller!.id;
    const b = req.body;
    const template = safeTemplate(b.templateId);
    if (!template) throw badRequest("templateId", `no marketplace template "${b.templateId}"; GET /api/v1/marketplace/templates lists them`);
    const chosenModel = b.model ?? template.defaultModel;
    await ownedInstance(db, ownerId, b.instanceId);
    await checkPolicy(db, ownerId, b.policyId);
    const agentSlug = b.slug ?? slugify(b.name ?? template.id);
    const now = new Date();
    // Lock the instance row so two deploys at once cannot both be the fifth agent.
    const row = await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT 1 FROM ${instances} WHERE ${instances.id} = ${b.instanceId} FOR UPDATE`);
      const [{ n }] = (await tx
        .select({ n: count() })
        .from(agents)
        .where(and(eq(agents.instanceId, b.instanceId), ne(agents.state, "stopped")))) as [{ n: number }];
      if (n >= MAX_AGENTS_PER_INSTANCE)
        throw conflict("instanceId", `this instance already runs ${MAX_AGENTS_PER_INSTANCE} agents, the most it can; stop one first`);
      const [taken] = await tx
        .select({ id: agents.id })
        .from(agents)
        .where(and(eq(agents.instanceId, b.instanceId), eq(agents.slug, agentSlug)))
        .limit(1);
      if (taken) throw conflict("slug", `an agent "${agentSlug}" already exists on this instance; choose another name or slug`);
      const [inserted] = await tx
        .insert(agents)
        .values({
          id: crypto.randomUUID(),
          ownerId,
          instanceId: b.instanceId,
          slug: agentSlug,
          name: b.name ?? template.name,
          templateId: template.id,
          model: chosenModel,
          policyId: b.policyId ?? null,
          state: "provisioning",
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return inserted!;
    });
    await recordEvent(db, {
      ownerId,
      action: "agent.deploy",
      objectType: "agent",
      objectId: row.id,
      details: { templateId: template.id, instanceId: b.instanceId },
    });
    // provisioning → pushed through the instance agent (now, or when the instance comes online) → ready
    await enqueueAgentDeploy(db, row);
    await manager?.changed(row.instanceId);
    return reply.code(201).send(row);
  });

  app.get("/api/v1/agents/:id", { schema: { tags, params: idParam, response: { 200: agentOut } } }, async (req) =>
    ownedAgent(db, req.caller!.id, req.params.id),
  );

  app.patch("/api/v1/agents/:id", { schema: { tags, params: idParam, body: patchBody, response: { 200: agentOut } } }, async (req) => {
    const ownerId = req.caller!.id;
    await ownedAgent(db, ownerId, req.params.id);
    await checkPolicy(db, ownerId, req.body.policyId);
    const [row] = await db
      .update(agents)
      .set({ ...req.body, updatedAt: new Date() })
      .where(and(eq(agents.id, req.params.id), eq(agents.ownerId, ownerId)))
      .returning();
    await recordEvent(db, {
      ownerId,
      action: "agent.update",
      objectType: "agent",
      objectId: req.params.id,
      details: { fields: Object.keys(req.body) },
    });
    // A new model or policy reaches the running gate by hot reload (no restart).
    if (row!.state !== "stopped" && (req.body.model !== undefined || req.body.policyId !== undefined)) {
      await enqueueCommand(db, {
        ownerId,
        instanceId: row!.instanceId,
        agentId: row!.id,
        kind: "register_agent",
        payload: { id: row!.slug, slug: row!.slug, name: row!.name, model: row!.model, policy: await policyTextOf(db, ownerId, row!.policyId) },
      });
      await manager?.changed(row!.instanceId);
    }
    return row!;
  });

  app.post("/api/v1/agents/:id/stop", { schema: { tags, params: idParam, response: { 202: agentOut } } }, async (req, reply) => {
    const ownerId = req.caller!.id;
    await ownedAgent(db, ownerId, req.params.id);
    const [row] = await db
      .update(agents)
      .set({ state: "stopped", updatedAt: new Date() })
      .where(and(eq(agents.id, req.params.id), eq(agents.ownerId, ownerId)))
      .returning();
    await recordEvent(db, { ownerId, action: "agent.stop", objectType: "agent", objectId: req.params.id });
    await enqueueAgentRemoval(db, row!, false);
    await manager?.changed(row!.instanceId);
    return reply.code(202).send(row!);
  });

  app.delete("/api/v1/agents/:id", { schema: { tags, params: idParam } }, async (req, reply) => {
    const ownerId = req.caller!.id;
    const a = await ownedAgent(db, ownerId, req.params.id);
    await enqueueAgentRemoval(db, a, true);
    await db.delete(agents).where(and(eq(agents.id, req.params.id), eq(agents.ownerId, ownerId)));
    await recordEvent(db, { ownerId, action: "agent.delete", objectType: "agent", objectId: req.params.id });
    await manager?.changed(a.instanceId);
    return reply.code(204).send();
  });
};

function slugify(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return out || "agent";
}
