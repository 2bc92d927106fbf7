import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { migrationsApplied } from "../db/migrate.ts";
import type { RouteDeps } from "./index.ts";

export const healthRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, metrics }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.get("/healthz", { schema: { hide: true } }, async () => ({ ok: true, status: "live" }));
  app.get("/readyz", { schema: { hide: true } }, async (_req, reply) => {
    try {
      await database.pool.query("SELECT 1");
      if (!(await migrationsApplied(database.pool))) return reply.code(503).send({ ok: false, status: "migrations pending" });
      return { ok: true, status: "ready", database: database.kind };
    } catch {
      return reply.code(503).send({ ok: false, status: "database unreachable" });
    }
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
