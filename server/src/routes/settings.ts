import { and, eq, isNull } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { validatePhonePattern } from "@tropic/policy";
import { getModel } from "@tropic/marketplace";
import { PROVIDERS } from "@tropic/providers";
import type { Db } from "../db/connect.ts";
import { instances, userSettings } from "../db/schema.ts";
import { checkLimits } from "../credits/meter.ts";
import { loadRates } from "../credits/rates.ts";
import { enqueueGateSettingsPush } from "../instances/commands.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest } from "../lib/errors.ts";
import { normaliseCidr, suggestionFor } from "../ssh/allowlist.ts";
import type { RouteDeps } from "./index.ts";
import { iso } from "./schemas.ts";

const settingsOut = z.object({
  blockBrowser: z.boolean(),
  blockCodeExecution: z.boolean(),
  blockOsCommands: z.boolean(),
  dailyCreditCap: z.number().nullable(),
  maxSessionMinutes: z.number().nullable(),
  model: z.string(),
  customModel: z.object({ provider: z.string(), modelId: z.string(), baseUrl: z.string().optional() }).nullable(),
  defaultInstanceType: z.string(),
  sshAllowlist: z.array(z.string()),
  sshRotationDays: z.number(),
  phoneMode: z.string(),
  phonePatterns: z.array(z.string()),
  updatedAt: iso,
});

const patchBody = z.strictObject({
  blockBrowser: z.boolean().optional(),
  blockCodeExecution: z.boolean().optional(),
  blockOsCommands: z.boolean().optional(),
  dailyCreditCap: z
    .number()
    .int("must be a whole number of credits")
    .min(1, "must be at least 1")
    .max(1_000_000, "must be at most 1,000,000")
    .nullable()
    .optional(),
  maxSessionMinutes: z
    .number()
    .int("must be whole minutes")
    .min(5, "must be at least 5 minutes")
    .max(10_080, "must be at most 10,080 minutes (a week)")
    .nullable()
    .optional(),
  model: z.string().max(120).optional(),
  customModel: z
    .strictObject({
      provider: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be a provider slug like openai or my-llm"),
      modelId: z
        .string()
        .min(1)
        .max(120)
        .regex(/^[A-Za-z0-9._:/-]+$/, "must be a model id like gpt-5 or llama-3.3-70b"),
      baseUrl: z
        .url({ protocol: /^https?$/, message: "must be an http(s) URL" })
        .max(500)
        .optional(),
    })
    .nullable()
    .optional(),
  defaultInstanceType: z.string().max(40).optional(),
  sshAllowlist: z.array(z.string().max(64)).max(50, "at most 50 entries").optional(),
  sshRotationDays: z.union([z.literal(30), z.literal(60), z.literal(90)], { message: "must be 30, 60 or 90" }).optional(),
  phoneMode: z.enum(["unrestricted", "allowlist", "blocklist"]).optional(),
  phonePatterns: z.array(z.string().max(32)).max(200, "at most 200 patterns").optional(),
});

export async function loadSettings(db: Db, ownerId: string) {
  const [row] = await db.select().from(userSettings).where(eq(userSettings.ownerId, ownerId)).limit(1);
  if (row) return row;
  const [created] = await db.insert(userSettings).values({ ownerId }).onConflictDoNothing().returning();
  return created ?? (await db.select().from(userSettings).where(eq(userSettings.ownerId, ownerId)))[0]!;
}

/** IPv4/IPv6 address or CIDR block. */
export function validCidr(entry: string): boolean {
  return normaliseCidr(entry) !== null;
}

const GATE_KEYS = ["blockBrowser", "blockCodeExecution", "blockOsCommands", "phoneMode", "phonePatterns"] as const;

export const settingsRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["settings"];

  app.get("/api/v1/settings", { schema: { tags, response: { 200: settingsOut } } }, async (req) => loadSettings(db, req.caller!.id));

  // The seed: "Your current IP is auto-detected": the address this request came from (behind a TLS
  // proxy, TROPIC_PUBLIC_URL set, the client address the proxy reports), as an allowlist entry.
  app.get(
    "/api/v1/settings/ssh-allowlist/suggestion",
    {
      schema: {
        tags,
        description: "The caller's current IP address and its /32 (or /128) CIDR, the default SSH allowlist entry.",
        response: { 200: z.object({ ip: z.string(), cidr: z.string() }) },
      },
    },
    async (req) => {
      const s = suggestionFor(req.ip);
      if (!s) throw badRequest("ip", "the address this request came from is not usable as an allowlist entry");
      return s;
    },
  );

  app.patch("/api/v1/settings", { schema: { tags, body: patchBody, response: { 200: settingsOut } } }, async (req) => {
    const b = req.body;
    if (b.model !== undefined && b.model !== "custom" && !getModel(b.model))
      throw badRequest("model", `unknown model "${b.model}"; use a preset id from GET /api/v1/marketplace/models or "custom" with customModel`);
    const types = PROVIDERS.aws.instanceTypes.map((t) => t.id);
    if (b.defaultInstanceType !== undefined && !types.includes(b.defaultInstanceType))
      throw badRequest("defaultInstanceType", `unknown instance type "${b.defaultInstanceType}"; choose one of ${types.join(", ")}`);
    if (b.sshAllowlist) {
      // Each entry as one canonical CIDR (203.0.113.7 → 203.0.113.7/32, 2001:db8::1 → 2001:db8::1/128), duplicates dropped.
      const cidrs = b.sshAllowlist.map((entry, i) => {
        const cidr = normaliseCidr(entry);
        if (!cidr)
          throw badRequest(
            `sshAllowlist.${i}`,
            `"${entry}" is not an IPv4/IPv6 address or CIDR block like 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32`,
          );
        return cidr;
      });
      b.sshAllowlist = [...new Set(cidrs)];
    }
    b.phonePatterns?.forEach((p, i) => {
      const problem = validatePhonePattern(p);
      if (problem) throw badRequest(`phonePatterns.${i}`, problem);
    });
    const current = await loadSettings(db, req.caller!.id);
    const model = b.model ?? current.model;
    const customModel = b.customModel !== undefined ? b.customModel : current.customModel;
    if (model === "custom" && !customModel) throw badRequest("customModel", 'model "custom" needs customModel {provider, modelId}');
    const [row] = await db
      .update(userSettings)
      .set({ ...b, updatedAt: new Date() })
      .where(eq(userSettings.ownerId, req.caller!.id))
      .returning();
    await recordEvent(db, { ownerId: req.caller!.id, action: "settings.update", objectType: "settings", details: { fields: Object.keys(b) } });
    if (b.sshAllowlist && JSON.stringify(b.sshAllowlist) !== JSON.stringify(current.sshAllowlist) && manager) {
      // The saved list is the desired state; an instance whose provider refuses keeps it for its next create.
      const r = await manager.applyNetworkRules(req.caller!.id);
      for (const f of r.failed) req.log.warn({ instanceId: f.instanceId, reason: f.error }, "could not apply the SSH allowlist");
    }
    if (b.dailyCreditCap !== undefined || b.maxSessionMinutes !== undefined || b.model !== undefined) {
      // Spending limits (or the model's rate) changed: pause or resume now, not at the next 5-minute tick.
      const r = await checkLimits(database.pool, req.caller!.id, { rates: loadRates(config.ratesFile) });
      for (const id of [...r.paused, ...r.resumed]) await manager?.changed(id);
    }
    if (GATE_KEYS.some((k) => b[k] !== undefined)) {
      // Toggles and phone rules reach every instance's gate without a restart.
      const live = await db
        .select({ id: instances.id })
        .from(instances)
        .where(and(eq(instances.ownerId, req.caller!.id), isNull(instances.deletedAt)));
      await enqueueGateSettingsPush(
        db,
        row!,
        live.map((i) => i.id),
      );
      for (const i of live) await manager?.changed(i.id);
    }
    return row!;
  });
};
