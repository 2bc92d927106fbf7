import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { creditLedger, users } from "../db/schema.ts";
import { checkLimits } from "../credits/meter.ts";
import { loadRates } from "../credits/rates.ts";
import { usage } from "../credits/usage.ts";
import { creditHistory } from "../credits/history.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest, forbidden } from "../lib/errors.ts";
import { idPage, idPageQuery } from "../lib/pagination.ts";
import type { RouteDeps } from "./index.ts";
import { email, iso, isoNullable } from "./schemas.ts";

const entryOut = z.object({
  id: z.number(),
  kind: z.string(),
  credits: z.number(),
  instanceId: z.string().nullable(),
  agentId: z.string().nullable(),
  windowStart: z.string().nullable(),
  note: z.string().nullable(),
  createdAt: iso,
});

const spent = { spentToday: z.number(), spentThisMonth: z.number() };
const usageOut = z.object({
  asOf: iso,
  balance: z.number().describe("credits"),
  burnRate: z.number().describe("credits per hour of every instance that runs now, at its rates"),
  runsOutAt: isoNullable.describe(
    "when the balance reaches 0 at the current burn rate (now when it is already ≤ 0 and something is charged); null: never at this rate, nothing is charged — see forecast for what that means",
  ),
  hoursLeft: z.number().nullable().describe("hours until runsOutAt; null when nothing is charged"),
  forecast: z
    .object({
      status: z
        .enum(["runs_out", "used_up", "paused", "free", "idle"])
        .describe(
          "runs_out: charged, the balance lasts until runsOutAt; used_up: charged at a balance ≤ 0, those instances are paused within 5 minutes; paused: instances are paused until credits are added; free: what runs costs 0 credits/hour, a balance of 0 pauses nothing; idle: nothing runs",
        ),
      summary: z.string().describe('one sentence to show as is, e.g. "Balance 0 · nothing is charged: your instances are free (local)."'),
      paidInstances: z.array(z.string()).describe("instances that cost credits while they run (paused at a balance ≤ 0)"),
      freeInstances: z.array(z.string()).describe("running instances at 0 credits/hour (never paused for credits)"),
      pausedForCredits: z.array(z.string()).describe("instances paused until credits are added"),
    })
    .describe("what the balance means for your instances: one state and one sentence (the dashboard and the CLI print the same)"),
  today: z.object({ since: iso, spent: z.number(), dailyCreditCap: z.number().nullable(), remaining: z.number().nullable() }),
  month: z.object({ since: iso, spent: z.number() }),
  maxSessionMinutes: z.number().nullable(),
  instances: z.array(
    z.object({
      id: z.string(),
      name: z.string().nullable().describe("null: deleted since it was charged"),
      instanceType: z.string().nullable(),
      state: z.string().nullable(),
      stateReason: z.string().nullable(),
      pauseReason: z.string().nullable(),
      pausedUntil: isoNullable,
      usesPlatformKey: z.boolean(),
      computeRate: z.number().nullable().describe("credits per hour; null: the instance type has no rate"),
      modelRate: z.number().describe("credits per hour on the platform's API key (0 with your own key)"),
      burnRate: z.number().describe("credits per hour now (0 unless it runs)"),
      ...spent,
    }),
  ),
  agents: z.array(
    z.object({
      id: z.string(),
      instanceId: z.string().nullable(),
      name: z.string().nullable(),
      model: z.string().nullable(),
      burnRate: z.number(),
      ...spent,
    }),
  ),
});

/** The balance is never stored: it is the sum of the append-only ledger. */
export async function balanceMilli(db: Db, ownerId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`coalesce(sum(${creditLedger.amountMilli}), 0)::bigint` })
    .from(creditLedger)
    .where(eq(creditLedger.ownerId, ownerId));
  return Number(row?.total ?? 0);
}

export const creditRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);

  app.get(
    "/api/v1/credits",
    {
      schema: {
        tags: ["credits"],
        querystring: idPageQuery,
        response: { 200: z.object({ balance: z.number(), ledger: z.array(entryOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const ownerId = req.caller!.id;
      const rows = await db
        .select()
        .from(creditLedger)
        .where(and(eq(creditLedger.ownerId, ownerId), req.query.cursor ? lt(creditLedger.id, Number(req.query.cursor)) : undefined))
        .orderBy(desc(creditLedger.id))
        .limit(req.query.limit + 1);
      const { items, nextCursor } = idPage(rows, req.query.limit);
      return {
        balance: (await balanceMilli(db, ownerId)) / 1000,
        ledger: items.map((r) => ({ ...r, credits: r.amountMilli / 1000, windowStart: r.windowStart?.toISOString() ?? null })),
        nextCursor,
      };
    },
  );

  app.get(
    "/api/v1/credits/usage",
    {
      schema: {
        tags: ["credits"],
        description:
          "Burn rate, spend today and this month per instance and agent, and when the credits run out (docs/credits.md). Charges are settled every 5 minutes, after each window ends.",
        response: { 200: usageOut },
      },
    },
    async (req) => usage(database.pool, req.caller!.id, { rates: loadRates(config.ratesFile) }),
  );

  app.get(
    "/api/v1/credits/history",
    {
      schema: {
        tags: ["credits"],
        description:
          "Credits charged (compute + model) per 5-minute window over the last `hours`, oldest first, windows without a charge as 0. Only settled windows: the one in progress is charged after it ends.",
        querystring: z.strictObject({
          hours: z.coerce.number().int("must be whole hours").min(1, "must be at least 1").max(168, "must be at most 168 (7 days)").default(24),
        }),
        response: {
          200: z.object({
            from: iso,
            to: iso.describe("the windows end here (the start of the window in progress)"),
            windowMinutes: z.number(),
            total: z.number().describe("credits charged in the range"),
            windows: z.array(z.object({ start: iso, credits: z.number(), creditsPerHour: z.number() })),
          }),
        },
      },
    },
    async (req) => creditHistory(database.pool, req.caller!.id, { hours: req.query.hours }),
  );

  app.post(
    "/api/v1/admin/credits/grant",
    {
      schema: {
        tags: ["admin"],
        body: z.strictObject({
          email,
          credits: z.number().int("must be whole credits").min(1, "must be at least 1").max(10_000_000, "must be at most 10,000,000"),
          note: z.string().max(200).optional(),
          idempotencyKey: z.string().min(8).max(100).optional(),
        }),
        response: { 201: z.object({ balance: z.number(), granted: z.boolean() }) },
      },
    },
    async (req, reply) => {
      if (!req.caller!.isAdmin) throw forbidden("only an admin can grant credits");
      const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, req.body.email)).limit(1);
      if (!user) throw badRequest("email", "no account with this email");
      const inserted = await db
        .insert(creditLedger)
        .values({
          ownerId: user.id,
          kind: "grant",
          amountMilli: req.body.credits * 1000,
          idempotencyKey: `grant:${req.body.idempotencyKey ?? crypto.randomUUID()}`,
          note: req.body.note ?? `granted by ${req.caller!.email}`,
          createdAt: new Date(),
        })
        .onConflictDoNothing()
        .returning({ id: creditLedger.id });
      if (inserted.length) {
        await recordEvent(db, { ownerId: user.id, actorId: req.caller!.id, action: "credits.grant", details: { credits: req.body.credits } });
        // Instances stopped for lack of credits start again now.
        const r = await checkLimits(database.pool, user.id, { rates: loadRates(config.ratesFile) });
        for (const id of [...r.paused, ...r.resumed]) await manager?.changed(id);
      }
      return reply.code(201).send({ balance: (await balanceMilli(db, user.id)) / 1000, granted: inserted.length > 0 });
    },
  );
};
