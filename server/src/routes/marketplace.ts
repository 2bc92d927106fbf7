import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { getTemplate, listModels, listSkills, listTemplates } from "@tropic/marketplace";
import { notFound } from "../lib/errors.ts";
import type { RouteDeps } from "./index.ts";

/** The shipped catalog is public: templates, skills and models can be browsed before signing up. */
export const marketplaceRoutes: FastifyPluginAsync<RouteDeps> = async (root) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ["marketplace"];
  app.get("/api/v1/marketplace/templates", { schema: { tags } }, async () => ({
    items: listTemplates().map(({ files: _files, ...t }) => t),
  }));
  app.get("/api/v1/marketplace/templates/:id", { schema: { tags, params: z.strictObject({ id: z.string().max(80) }) } }, async (req) => {
    let t: ReturnType<typeof getTemplate> | undefined;
    try {
      t = getTemplate(req.params.id);
    } catch {
      t = undefined;
    }
    if (!t) throw notFound("template");
    return t;
  });
  app.get("/api/v1/marketplace/skills", { schema: { tags } }, async () => ({ items: listSkills() }));
  app.get("/api/v1/marketplace/models", { schema: { tags } }, async () => ({
    items: listModels(),
    custom: { description: 'Set model "custom" with customModel {provider, modelId, baseUrl?} in settings' },
  }));
};
