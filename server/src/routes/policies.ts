import { and, eq, sql } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { compilePolicy } from "@tropic/policy";
import { policies } from "../db/schema.ts";
import { enqueuePolicyPush } from "../instances/commands.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest, conflict, isUniqueViolation, notFound } from "../lib/errors.ts";
import { decodeCursor, page, pageQuery } from "../lib/pagination.ts";
import type { RouteDeps } from "./index.ts";
import { idParam, iso, name, pageOf } from "./schemas.ts";
import { beforeCursor, newestFirst } from "./scope.ts";

const text = z.string().max(20_000, "must be at most 20,000 characters");
const ruleOut = z.object({ id: z.string(), line: z.number(), effect: z.string(), text: z.string(), explanation: z.string() });
const policyOut = z.object({
  id: z.string(),
  name: z.string(),
  text: z.string(),
  version: z.number(),
  mode: z.string(),
  rules: z.array(ruleOut),
  createdAt: iso,
  updatedAt: iso,
});

/**
 * The validation hook: a policy is compiled when saved, and one that does not compile is
 * refused with its line numbers — nothing half-valid ever reaches a gate.
 */
export function compileOrReject(policyText: string) {
  const result = compilePolicy(policyText);
  if (!result.ok) {
    const errors = result.errors.map((e) => ({ ...e, message: `line ${e.line}: ${e.message}` }));
    throw badRequest("text", errors.map((e) => e.message).join("; "), { errors });
  }
  return result.policy;
}

const policyName = name.describe("unique among the caller's policies (409 when taken)");
const nameTaken = (n: string) => conflict("name", `a policy named "${n}" already exists`);
/** The unique index (owner, name) decides, so two saves at once cannot both take a name. */
const orNameTaken =
  (n: string) =>
  (err: unknown): never => {
    throw isUniqueViolation(err, "policies_owner_name_key") ? nameTaken(n) : err;
  };

function present(row: typeof policies.$inferSelect) {
  const compiled = row.compiled as { mode?: string; rules?: z.infer<typeof ruleOut>[] };
  return { ...row, mode: compiled.mode ?? "default", rules: compiled.rules ?? [] };
}

export const policyRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["policies"];

  const owned = async (ownerId: string, id: string) => {
    const [row] = await db
      .select()
      .from(policies)
      .where(and(eq(policies.id, id), eq(policies.ownerId, ownerId)))
      .limit(1);
    if (!row) throw notFound("policy");
    return row;
  };

  // Validate without saving: the dashboard's live editor and `tropic policy check --remote`.
  app.post(
    "/api/v1/policies/validate",
    {
      schema: { tags, body: z.strictObject({ text }), response: { 200: z.object({ mode: z.string(), rules: z.array(ruleOut), cedar: z.string() }) } },
    },
    async (req) => {
      const compiled = compileOrReject(req.body.text);
      return { mode: compiled.mode, rules: compiled.rules, cedar: compiled.cedar };
    },
  );

  app.get("/api/v1/policies", { schema: { tags, querystring: pageQuery, response: { 200: pageOf(policyOut) } } }, async (req) => {
    const cursor = decodeCursor(req.query.cursor);
    const rows = await db
      .select()
      .from(policies)
      .where(and(eq(policies.ownerId, req.caller!.id), beforeCursor(policies.createdAt, policies.id, cursor)))
      .orderBy(...newestFirst(policies.createdAt, policies.id))
      .limit(req.query.limit + 1);
    const p = page(rows, req.query.limit);
    return { items: p.items.map(present), nextCursor: p.nextCursor };
  });

  app.post(
    "/api/v1/policies",
    { schema: { tags, body: z.strictObject({ name: policyName, text }), response: { 201: policyOut } } },
    async (req, reply) => {
      const compiled = compileOrReject(req.body.text);
      const now = new Date();
      const [row] = await db
        .insert(policies)
        .values({
          id: crypto.randomUUID(),
          ownerId: req.caller!.id,
          name: req.body.name,
          text: req.body.text,
          compiled: { ...compiled },
          createdAt: now,
          updatedAt: now,
        })
        // No error for a taken name (an error would cost the embedded database's connection): no row.
        .onConflictDoNothing({ target: [policies.ownerId, policies.name] })
        .returning()
        .catch(orNameTaken(req.body.name));
      if (!row) throw nameTaken(req.body.name);
      await recordEvent(db, { ownerId: req.caller!.id, action: "policy.create", objectType: "policy", objectId: row.id });
      return reply.code(201).send(present(row));
    },
  );

  app.get("/api/v1/policies/:id", { schema: { tags, params: idParam, response: { 200: policyOut } } }, async (req) =>
    present(await owned(req.caller!.id, req.params.id)),
  );

  app.put(
    "/api/v1/policies/:id",
    { schema: { tags, params: idParam, body: z.strictObject({ name: policyName.optional(), text }), response: { 200: policyOut } } },
    async (req) => {
      const current = await owned(req.caller!.id, req.params.id);
      const compiled = compileOrReject(req.body.text);
      const newName = req.body.name ?? current.name;
      const [row] = await db
        .update(policies)
        .set({
          name: newName,
          text: req.body.text,
          compiled: { ...compiled },
          version: current.version + 1,
          updatedAt: new Date(),
        })
        .where(
          and(
            eq(policies.id, current.id),
            eq(policies.ownerId, req.caller!.id),
            sql`NOT EXISTS (SELECT 1 FROM policies other WHERE other.owner_id = ${req.caller!.id} AND other.name = ${newName} AND other.id <> ${current.id})`,
          ),
        )
        .returning()
        .catch(orNameTaken(newName));
      if (!row) throw nameTaken(newName);
      await recordEvent(db, {
        ownerId: req.caller!.id,
        action: "policy.update",
        objectType: "policy",
        objectId: current.id,
        details: { version: row.version },
      });
      // The new text reaches every running gate that uses it (hot reload, no gateway restart).
      // (one batch for a fleet: every node holding one of its agents is woken by PostgreSQL)
      await manager?.deliver(await enqueuePolicyPush(db, req.caller!.id, current.id));
      return present(row);
    },
  );

  app.delete("/api/v1/policies/:id", { schema: { tags, params: idParam } }, async (req, reply) => {
    await owned(req.caller!.id, req.params.id);
    await db.delete(policies).where(and(eq(policies.id, req.params.id), eq(policies.ownerId, req.caller!.id)));
    await recordEvent(db, { ownerId: req.caller!.id, action: "policy.delete", objectType: "policy", objectId: req.params.id });
    return reply.code(204).send();
  });
};
