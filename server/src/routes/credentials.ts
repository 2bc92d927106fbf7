import { and, asc, eq, isNull } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { credentials, instances } from "../db/schema.ts";
import { enqueueModelKeySync, MODEL_KEY } from "../instances/commands.ts";
import { recordEvent } from "../lib/audit.ts";
import { notFound } from "../lib/errors.ts";
import { type KeyEncryptionKey, seal } from "../secrets/envelope.ts";
import type { RouteDeps } from "./index.ts";
import { iso } from "./schemas.ts";

export const credentialName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/, "must be 1-100 characters: letters, digits, _ . : - (like ANTHROPIC_API_KEY)");
const credentialOut = z.object({ name: z.string(), last4: z.string(), fingerprint: z.string(), createdAt: iso, updatedAt: iso });
const secretValue = z.string().min(1, "must not be empty").max(16_384, "must be at most 16 KiB");

/** Seals and upserts one secret. The plaintext lives only in this call's memory. */
export async function storeCredential(db: Db, kek: KeyEncryptionKey, ownerId: string, name: string, value: string) {
  const sealed = await seal(kek, value);
  const now = new Date();
  const fields = { ...sealed, last4: value.length >= 12 ? value.slice(-4) : "", fingerprint: kek.fingerprint(value), updatedAt: now };
  const [row] = await db
    .insert(credentials)
    .values({ id: crypto.randomUUID(), ownerId, name, createdAt: now, ...fields })
    .onConflictDoUpdate({ target: [credentials.ownerId, credentials.name], set: fields })
    .returning();
  return row!;
}

export const credentialRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, kek, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["credentials"];

  /** The Claude API key changed: every instance of the owner gets it (running ones now, stopped ones at start). */
  async function syncModelKey(ownerId: string, name: string) {
    if (name !== MODEL_KEY) return;
    const ids = (
      await db
        .select({ id: instances.id })
        .from(instances)
        .where(and(eq(instances.ownerId, ownerId), isNull(instances.deletedAt)))
    ).map((r) => r.id);
    await enqueueModelKeySync(db, ownerId, ids, config.platformAnthropicKey !== undefined);
    for (const id of ids) await manager?.changed(id);
  }

  // Write-only: no route ever returns a value, only its name, last 4 characters and a keyed fingerprint.
  // Which Claude key the caller's instances get is said with it (whether the platform has a key: a
  // boolean, never the key), so Settings and Chat tell the truth without guessing.
  const platformKey = config.platformAnthropicKey !== undefined;
  app.get(
    "/api/v1/credentials",
    {
      schema: {
        tags,
        response: {
          200: z.object({
            items: z.array(credentialOut),
            platformKey: z
              .boolean()
              .describe("whether this Tropic has a platform Claude API key (TROPIC_PLATFORM_ANTHROPIC_KEY) for users without their own"),
            modelKey: z
              .object({
                source: z
                  .enum(["own", "platform", "none"])
                  .describe(
                    `the Claude API key your instances get: "own" (your ${MODEL_KEY} credential), "platform" (Tropic's key; model usage is charged in credits) or "none" (agents on Claude models cannot answer until you add a key)`,
                  ),
              })
              .describe('a custom model endpoint in Settings (model "custom" with a baseUrl) needs no Claude key'),
          }),
        },
      },
    },
    async (req) => {
      const items = await db.select().from(credentials).where(eq(credentials.ownerId, req.caller!.id)).orderBy(asc(credentials.name));
      const source = items.some((c) => c.name === MODEL_KEY) ? "own" : platformKey ? "platform" : "none";
      return { items, platformKey, modelKey: { source } as const };
    },
  );

  app.put(
    "/api/v1/credentials/:name",
    {
      schema: {
        tags,
        params: z.strictObject({ name: credentialName }),
        body: z.strictObject({ value: secretValue }),
        response: { 200: credentialOut },
      },
    },
    async (req) => {
      const row = await storeCredential(db, kek, req.caller!.id, req.params.name, req.body.value);
      await recordEvent(db, { ownerId: req.caller!.id, action: "credential.set", objectType: "credential", objectId: req.params.name });
      await syncModelKey(req.caller!.id, req.params.name);
      return row;
    },
  );

  app.delete("/api/v1/credentials/:name", { schema: { tags, params: z.strictObject({ name: credentialName }) } }, async (req, reply) => {
    const rows = await db
      .delete(credentials)
      .where(and(eq(credentials.ownerId, req.caller!.id), eq(credentials.name, req.params.name)))
      .returning({ id: credentials.id });
    if (!rows.length) throw notFound("credential");
    await recordEvent(db, { ownerId: req.caller!.id, action: "credential.delete", objectType: "credential", objectId: req.params.name });
    await syncModelKey(req.caller!.id, req.params.name);
    return reply.code(204).send();
  });
};
