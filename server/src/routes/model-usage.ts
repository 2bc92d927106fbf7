// GET /api/v1/instances/:id/model-usage: the tokens an instance used through the model proxy
// (models/proxy.ts, docs/models.md), today and this month, per model and per agent, beside the hourly
// rates the instance is charged. The tokens are shown for information: the hourly rates stay the charge.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { computeRate, loadRates, modelRate } from "../credits/rates.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam, iso } from "./schemas.ts";

const tokens = {
  inputTokens: z.number().describe("input tokens the model API counted"),
  outputTokens: z.number().describe("output tokens the model API counted (for a stream cut short: what arrived)"),
  requests: z.number().describe("Messages requests answered through the model proxy"),
};

const modelUsageOut = z.object({
  instanceId: z.string(),
  today: z.object({ since: iso.describe("00:00 UTC today"), ...tokens }),
  month: z.object({ since: iso.describe("the first of this month, 00:00 UTC"), ...tokens }),
  byModel: z
    .array(z.object({ model: z.string().describe('as the model API reported it ("unknown" when it did not)'), ...tokens }))
    .describe("this month"),
  byAgent: z
    .array(z.object({ agent: z.string().nullable().describe("null: the request did not name its agent (OpenClaw does not yet)"), ...tokens }))
    .describe("this month"),
  rates: z
    .object({
      instanceType: z.string(),
      usesPlatformKey: z.boolean().describe("whether the instance uses Tropic's Claude key (and so the model proxy)"),
      compute: z.number().nullable().describe("credits per hour while the instance runs; null: its type has no rate"),
      model: z.number().describe("credits per hour for its agents' models on the platform's key (0 with your own key)"),
      total: z.number().nullable().describe("compute + model, credits per hour while it runs"),
      models: z.array(z.object({ model: z.string(), creditsPerHour: z.number() })).describe("the rate of each model its agents use"),
    })
    .describe("what the instance is charged: hourly rates (docs/credits.md), not tokens"),
});

export const modelUsageRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, requireCaller }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", requireCaller);

  app.get(
    "/api/v1/instances/:id/model-usage",
    {
      schema: {
        tags: ["instances"],
        description:
          "Tokens the instance used through Tropic's model proxy (instances on the platform's Claude key), today and this month (UTC), beside the hourly rates it is charged. Tokens are shown, not charged.",
        params: idParam,
        response: { 200: modelUsageOut },
      },
    },
    async (req) => {
      const inst = await ownedInstance(database.db, req.caller!.id, req.params.id);
      const now = new Date();
      const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const { rows } = await database.pool.query<{
        model: string;
        agent: string | null;
        m_in: number;
        m_out: number;
        m_n: number;
        d_in: number;
        d_out: number;
        d_n: number;
      }>(
        `SELECT model, agent,
                coalesce(sum(input_tokens), 0)::bigint AS m_in, coalesce(sum(output_tokens), 0)::bigint AS m_out, count(*)::bigint AS m_n,
                coalesce(sum(input_tokens) FILTER (WHERE created_at >= $4), 0)::bigint AS d_in,
                coalesce(sum(output_tokens) FILTER (WHERE created_at >= $4), 0)::bigint AS d_out,
                count(*) FILTER (WHERE created_at >= $4)::bigint AS d_n
           FROM model_usage
          WHERE instance_id = $1 AND owner_id = $2 AND created_at >= $3
          GROUP BY model, agent`,
        [inst.id, inst.ownerId, month, today],
      );
      type Totals = { inputTokens: number; outputTokens: number; requests: number };
      const zero = (): Totals => ({ inputTokens: 0, outputTokens: 0, requests: 0 });
      const add = (acc: Totals, input: number, output: number, n: number) => {
        acc.inputTokens += Number(input);
        acc.outputTokens += Number(output);
        acc.requests += Number(n);
        return acc;
      };
      const t = { since: today, ...zero() };
      const m = { since: month, ...zero() };
      const byModel = new Map<string, Totals>();
      const byAgent = new Map<string | null, Totals>();
      for (const r of rows) {
        add(t, r.d_in, r.d_out, r.d_n);
        add(m, r.m_in, r.m_out, r.m_n);
        byModel.set(r.model, add(byModel.get(r.model) ?? zero(), r.m_in, r.m_out, r.m_n));
        byAgent.set(r.agent, add(byAgent.get(r.agent) ?? zero(), r.m_in, r.m_out, r.m_n));
      }

      // The rates the meter charges for this instance (credits/meter.ts BURN_COLUMNS): compute by type,
      // plus on the platform's key each live agent's model (the Settings model when it has none).
      const rates = loadRates(config.ratesFile);
      const { rows: agentModels } = await database.pool.query<{ model: string }>(
        `SELECT coalesce(a.model, s.model, $3) AS model
           FROM agents a LEFT JOIN user_settings s ON s.owner_id = a.owner_id
          WHERE a.instance_id = $1 AND a.owner_id = $2 AND a.state IN ('provisioning', 'ready')
          UNION ALL
         SELECT coalesce((SELECT model FROM user_settings WHERE owner_id = $2), $3)
          WHERE NOT EXISTS (SELECT 1 FROM agents WHERE instance_id = $1 AND state IN ('provisioning', 'ready'))`,
        [inst.id, inst.ownerId, rates.defaultModel],
      );
      const models = agentModels.map((a) => ({ model: a.model, creditsPerHour: modelRate(rates, a.model) }));
      const compute = computeRate(rates, inst.instanceType) ?? null;
      const model = inst.usesPlatformKey ? Math.round(models.reduce((s, x) => s + x.creditsPerHour, 0) * 1000) / 1000 : 0;
      const sortTokens = <T extends { inputTokens: number; outputTokens: number }>(a: T, b: T) =>
        b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens);
      return {
        instanceId: inst.id,
        today: t,
        month: m,
        byModel: [...byModel].map(([k, v]) => ({ model: k, ...v })).sort(sortTokens),
        byAgent: [...byAgent].map(([k, v]) => ({ agent: k, ...v })).sort(sortTokens),
        rates: {
          instanceType: inst.instanceType,
          usesPlatformKey: inst.usesPlatformKey,
          compute,
          model,
          total: compute === null ? null : Math.round((compute + model) * 1000) / 1000,
          models,
        },
      };
    },
  );
};
