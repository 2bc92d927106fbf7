import { and, asc, eq, inArray } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { getSkill, listSkills, validateSkillCredentials } from "@tropic/marketplace";
import type { Db } from "../db/connect.ts";
import { credentials, skillInstalls, skills } from "../db/schema.ts";
import { enqueueSkillInstall, enqueueSkillRemoval } from "../instances/commands.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest, conflict, notFound } from "../lib/errors.ts";
import { storeCredential } from "./credentials.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam, iso } from "./schemas.ts";

const installOut = z.object({ id: z.string(), skillSlug: z.string(), enabled: z.boolean(), state: z.string(), createdAt: iso, updatedAt: iso });
const skillParams = z.strictObject({ id: z.uuid("must be a UUID"), slug: z.string().max(60) });

/** Upserts the shipped catalog into the skills table, so installs can reference it by key. */
export async function syncSkillCatalog(db: Db): Promise<number> {
  const all = listSkills();
  for (const s of all) {
    const row = { name: s.name, description: s.description, auth: s.auth, manifest: { ...s } as Record<string, unknown>, updatedAt: new Date() };
    await db
      .insert(skills)
      .values({ slug: s.slug, ...row })
      .onConflictDoUpdate({ target: skills.slug, set: row });
  }
  return all.length;
}

/** Which of a skill's credential variables the user has stored (values stay encrypted). */
async function storedSkillEnvs(db: Db, ownerId: string, slug: string, envs: string[]): Promise<string[]> {
  if (!envs.length) return [];
  const rows = await db
    .select({ name: credentials.name })
    .from(credentials)
    .where(
      and(
        eq(credentials.ownerId, ownerId),
        inArray(
          credentials.name,
          envs.map((e) => `skill:${slug}:${e}`),
        ),
      ),
    );
  const have = new Set(rows.map((r) => r.name));
  return envs.filter((e) => have.has(`skill:${slug}:${e}`));
}

function safeSkill(slug: string) {
  try {
    return getSkill(slug);
  } catch {
    return undefined;
  }
}

export const skillRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, kek, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["skills"];

  app.get(
    "/api/v1/instances/:id/skills",
    { schema: { tags, params: idParam, response: { 200: z.object({ items: z.array(installOut) }) } } },
    async (req) => {
      await ownedInstance(db, req.caller!.id, req.params.id);
      return {
        items: await db
          .select()
          .from(skillInstalls)
          .where(and(eq(skillInstalls.instanceId, req.params.id), eq(skillInstalls.ownerId, req.caller!.id)))
          .orderBy(asc(skillInstalls.skillSlug)),
      };
    },
  );

  app.post(
    "/api/v1/instances/:id/skills",
    {
      schema: {
        tags,
        params: idParam,
        body: z.strictObject({ slug: z.string().max(60), credentials: z.record(z.string().max(64), z.string().max(16_384)).default({}) }),
        response: { 201: installOut },
      },
    },
    async (req, reply) => {
      const ownerId = req.caller!.id;
      const inst = await ownedInstance(db, ownerId, req.params.id);
      const skill = safeSkill(req.body.slug);
      if (!skill) throw badRequest("slug", `no skill "${req.body.slug}" in the catalog; GET /api/v1/marketplace/skills lists them`);
      const check = validateSkillCredentials(skill.slug, req.body.credentials);
      if (!check.ok) {
        const first = check.errors[0]!;
        throw badRequest(`credentials.${first.field}`, first.message, { errors: check.errors });
      }
      const [existing] = await db
        .select({ id: skillInstalls.id })
        .from(skillInstalls)
        .where(and(eq(skillInstalls.instanceId, inst.id), eq(skillInstalls.skillSlug, skill.slug)))
        .limit(1);
      if (existing) throw conflict("slug", `${skill.name} is already installed on this instance`);
      // Validate everything first, then store: a bad field leaves no secret half-written.
      for (const [env, value] of Object.entries(req.body.credentials)) {
        if (value === "") continue; // an optional field left blank is "not given", not an empty secret
        await storeCredential(db, kek, ownerId, `skill:${skill.slug}:${env}`, value);
      }
      const now = new Date();
      const [row] = await db
        .insert(skillInstalls)
        .values({ id: crypto.randomUUID(), ownerId, instanceId: inst.id, skillSlug: skill.slug, createdAt: now, updatedAt: now })
        .returning();
      await recordEvent(db, { ownerId, action: "skill.install", objectType: "instance", objectId: inst.id, details: { skill: skill.slug } });
      // SKILL.md + credentials (.env, 0600) written by the instance agent, then the gateway restarted.
      const given = Object.entries(req.body.credentials)
        .filter(([, v]) => v !== "")
        .map(([k]) => k);
      await enqueueSkillInstall(db, ownerId, inst.id, skill.slug, true, given);
      await manager?.changed(inst.id);
      return reply.code(201).send(row!);
    },
  );

  app.patch(
    "/api/v1/instances/:id/skills/:slug",
    { schema: { tags, params: skillParams, body: z.strictObject({ enabled: z.boolean() }), response: { 200: installOut } } },
    async (req) => {
      await ownedInstance(db, req.caller!.id, req.params.id);
      const [row] = await db
        .update(skillInstalls)
        .set({ enabled: req.body.enabled, updatedAt: new Date() })
        .where(
          and(eq(skillInstalls.instanceId, req.params.id), eq(skillInstalls.skillSlug, req.params.slug), eq(skillInstalls.ownerId, req.caller!.id)),
        )
        .returning();
      if (!row) throw notFound("skill install");
      const skill = safeSkill(row.skillSlug);
      const given = skill
        ? await storedSkillEnvs(
            db,
            req.caller!.id,
            row.skillSlug,
            skill.credentials.map((c) => c.env),
          )
        : [];
      await enqueueSkillInstall(db, req.caller!.id, row.instanceId, row.skillSlug, row.enabled, given);
      await manager?.changed(row.instanceId);
      return row;
    },
  );

  app.delete("/api/v1/instances/:id/skills/:slug", { schema: { tags, params: skillParams } }, async (req, reply) => {
    await ownedInstance(db, req.caller!.id, req.params.id);
    const rows = await db
      .delete(skillInstalls)
      .where(
        and(eq(skillInstalls.instanceId, req.params.id), eq(skillInstalls.skillSlug, req.params.slug), eq(skillInstalls.ownerId, req.caller!.id)),
      )
      .returning({ id: skillInstalls.id });
    if (!rows.length) throw notFound("skill install");
    await recordEvent(db, {
      ownerId: req.caller!.id,
      action: "skill.uninstall",
      objectType: "instance",
      objectId: req.params.id,
      details: { skill: req.params.slug },
    });
    await enqueueSkillRemoval(db, req.caller!.id, req.params.id, req.params.slug);
    await manager?.changed(req.params.id);
    return reply.code(204).send();
  });
};
