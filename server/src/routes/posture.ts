// Host posture of an instance (issue 18, docs/hardening.md "Control plane"): the latest audit, the score
// over time and the integrity incidents; a manual audit; accepting changed files as the new baseline.
// The logic is in posture/.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { AgentUnavailableError } from "../instances/hub.ts";
import { ApiError, badRequest } from "../lib/errors.ts";
import { AgentRefusedError, agentReachable } from "../posture/service.ts";
import { type ReportOut, report, severityCounts } from "../posture/report.ts";
import { postureOf } from "../posture/store.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam } from "./schemas.ts";

const counts = severityCounts;
const kind = z.enum(["provision", "deploy", "daily", "manual"]);
const incident = z.object({
  id: z.string(),
  name: z.string().describe("the baseline's name: workspace/<slug>/SOUL.md, gate/plugin, config/protected…"),
  path: z.string(),
  change: z.enum(["changed", "deleted", "added"]),
  detectedAt: z.string(),
  acceptedAt: z.string().nullable(),
  reason: z.string().nullable().describe("why it was accepted as the new baseline"),
});
const postureOut = z.object({
  score: z.number().nullable().describe("0–100, 100 − 15·CRIT − 8·HIGH − 3·MED − 1·LOW of the latest audit; null: never audited"),
  counts: counts.nullable(),
  at: z.string().nullable(),
  kind: kind.nullable(),
  report: report.nullable(),
  history: z.array(z.object({ id: z.string(), at: z.string(), kind, score: z.number() })).describe("the last 90 audits, oldest first"),
  incidents: z.array(incident).describe("open incidents first (oldest first), then the last 20 accepted"),
});
const auditOut = z.object({
  audit: z.object({ id: z.string(), at: z.string(), kind, score: z.number(), counts, report }),
});
const acceptBody = z.strictObject({
  incidentIds: z.array(z.uuid("must be incident ids")).max(1000).optional().describe("open incidents to accept (default: every open one)"),
  reason: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(500, "must be at most 500 characters")
    .describe("why the change is expected (kept with the incident)"),
});

export const postureRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["posture"];

  const notRunning = () => new ApiError(409, "not_running", "the instance is not running (or its agent is not connected); start it first", "id");
  /** What the agent's failures mean to a caller. */
  const agentError = (e: unknown) => {
    if (e instanceof AgentUnavailableError)
      return e.reason === "timeout"
        ? new ApiError(504, "agent_timeout", "the instance did not answer in time (it may be busy); try again in a moment")
        : notRunning();
    if (e instanceof AgentRefusedError) return new ApiError(502, "instance_error", e.message);
    return e;
  };

  app.get(
    "/api/v1/instances/:id/posture",
    {
      schema: {
        tags,
        description:
          "The instance's host posture: the latest audit (score, counts by severity, the full report), the score over time and the integrity incidents (docs/hardening.md).",
        params: idParam,
        response: { 200: postureOut },
      },
    },
    async (req) => {
      const inst = await ownedInstance(db, req.caller!.id, req.params.id);
      return (await postureOf(db, inst.id)) as z.infer<typeof postureOut>;
    },
  );

  app.post(
    "/api/v1/instances/:id/audits",
    {
      schema: {
        tags,
        description:
          "Runs an audit on the running instance now (kind manual: the integrity check, then the audit; without OpenClaw's own audit, which runs daily) and returns it. 409 not_running; 504 agent_timeout.",
        params: idParam,
        body: z.strictObject({}).optional(),
        response: { 200: auditOut },
      },
    },
    async (req) => {
      const inst = await ownedInstance(db, req.caller!.id, req.params.id);
      if (inst.state !== "running" || !manager || !(await agentReachable(manager.hub, inst.id))) throw notRunning();
      try {
        const { audit } = await manager.posture.runAudit(inst, "manual");
        return {
          audit: {
            id: audit.id,
            at: audit.createdAt.toISOString(),
            kind: audit.kind,
            score: audit.score,
            counts: audit.counts,
            report: audit.report as ReportOut,
          },
        };
      } catch (e) {
        throw agentError(e);
      }
    },
  );

  app.post(
    "/api/v1/instances/:id/integrity/accept",
    {
      schema: {
        tags,
        description:
          "Accepts open integrity incidents (those named, else every open one) as the new baseline: the instance re-baselines those files and the incidents are kept as accepted with the reason. Unknown or already accepted ids: 400 naming incidentIds.",
        params: idParam,
        body: acceptBody,
        response: { 200: z.object({ accepted: z.array(z.string()) }) },
      },
    },
    async (req) => {
      const inst = await ownedInstance(db, req.caller!.id, req.params.id);
      const running = inst.state === "running" && !!manager && (await agentReachable(manager.hub, inst.id));
      let r: { accepted: string[]; unknown: string[] };
      try {
        if (!manager) throw notRunning();
        // (nothing is sent when an id is unknown; running is checked once there is something to send)
        r = await manager.posture.accept(inst, req.caller!.id, req.body.incidentIds, req.body.reason, () => {
          if (!running) throw notRunning();
        });
      } catch (e) {
        throw agentError(e);
      }
      if (r.unknown.length) throw badRequest("incidentIds", `not open integrity incidents of this instance: ${r.unknown.join(", ")}`);
      return { accepted: r.accepted };
    },
  );
};
