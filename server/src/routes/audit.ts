import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { auditEvents, instances } from "../db/schema.ts";
import { forbidden } from "../lib/errors.ts";
import { idPage, idPageQuery } from "../lib/pagination.ts";
import type { RouteDeps } from "./index.ts";
import { iso } from "./schemas.ts";
import { instanceOut } from "./instances.ts";

const eventOut = z.object({
  id: z.number(),
  action: z.string(),
  objectType: z.string().nullable(),
  objectId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  createdAt: iso,
});

export const auditRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);

  app.get(
    "/api/v1/audit-events",
    {
      schema: {
        tags: ["audit"],
        querystring: idPageQuery,
        response: { 200: z.object({ items: z.array(eventOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const rows = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.ownerId, req.caller!.id), req.query.cursor ? lt(auditEvents.id, Number(req.query.cursor)) : undefined))
        .orderBy(desc(auditEvents.id))
        .limit(req.query.limit + 1);
      return idPage(rows, req.query.limit);
    },
  );

  // The admin sees every instance (support, capacity); nobody else reaches this route.
  app.get(
    "/api/v1/admin/instances",
    { schema: { tags: ["admin"], response: { 200: z.object({ items: z.array(instanceOut.extend({ ownerId: z.string() })) }) } } },
    async (req) => {
      if (!req.caller!.isAdmin) throw forbidden("only an admin can list every instance");
      return { items: await db.select().from(instances).where(isNull(instances.deletedAt)).orderBy(desc(instances.createdAt)).limit(1000) };
    },
  );
};
