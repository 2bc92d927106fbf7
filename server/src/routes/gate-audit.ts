// The gate's decisions on an instance (its JSON-lines audit log), read live THROUGH the instance's
// agent: the log stays on the instance; nothing of it is copied into the database.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { AgentUnavailableError } from "../instances/hub.ts";
import { ApiError, conflict } from "../lib/errors.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam } from "./schemas.ts";

const filter = z.string().trim().max(128).optional();

const gateAuditQuery = z.strictObject({
  limit: z.coerce.number().int("must be a whole number").min(1, "must be at least 1").max(500, "must be at most 500").default(100),
  tool: filter.describe("only this tool (exec, read, …)"),
  decision: z.enum(["ALLOW", "DENY", "REDACT", "CONFIRM"]).optional(),
  agent: filter.describe("only this OpenClaw agent id (the agent's slug; `main` for OpenClaw's default agent)"),
});

const entryOut = z.object({
  ts: z.string(),
  phase: z.string().describe("call (the decision before the tool runs), approval (the user's answer to a CONFIRM), result (output redaction)"),
  agentId: z.string(),
  tool: z.string(),
  decision: z.string().describe("ALLOW, DENY, CONFIRM (call); ALLOW/DENY (approval); REDACT (result)"),
  rules: z.array(z.string()),
  durationMs: z.number().nullable(),
  toolCallId: z.string().optional(),
  sessionKey: z.string().optional(),
  paramsDigest: z.string().optional(),
  reason: z.string().optional(),
  approval: z.string().optional(),
  redactions: z.array(z.string()).optional(),
  error: z.string().optional(),
});

const gateAuditOut = z.object({
  instanceId: z.string(),
  entries: z.array(entryOut).describe("newest first"),
  files: z.number().describe("log files read (audit.log and its rotations)"),
  scannedBytes: z.number(),
  truncated: z.boolean().describe("true: older entries exist beyond the 4 MiB read"),
});

export const gateAuditRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", requireCaller);

  app.get(
    "/api/v1/instances/:id/gate-audit",
    {
      schema: {
        tags: ["audit"],
        description:
          "The last entries (at most 500) of the gate's audit log on a running instance, newest first, read through the instance's agent (docs/plugin.md, Audit log format). 409 when the instance is not running or its agent is not connected.",
        params: idParam,
        querystring: gateAuditQuery,
        response: { 200: gateAuditOut },
      },
    },
    async (req) => {
      const inst = await ownedInstance(database.db, req.caller!.id, req.params.id);
      const notRunning = () => conflict("id", "the instance is not running; start it to read its audit log");
      if (inst.state !== "running" || !manager || !(await manager.hub.reachable(inst.id))) throw notRunning();
      const { limit, tool, decision, agent } = req.query;
      let ack: { ok: boolean; result?: unknown; error?: string };
      try {
        ack = await manager.hub.request(inst.id, "read_gate_audit", { limit, tool, decision, agentId: agent }, 15_000);
      } catch (e) {
        if (e instanceof AgentUnavailableError && e.reason === "timeout")
          throw new ApiError(504, "timeout", "the instance did not answer in time (it may be busy restarting); try again in a moment");
        if (e instanceof AgentUnavailableError) throw notRunning();
        throw e;
      }
      if (!ack.ok) throw new ApiError(502, "instance_error", `the instance could not read its audit log: ${ack.error ?? "unknown error"}`);
      const r = ack.result as { entries: z.infer<typeof entryOut>[]; files: number; scannedBytes: number; truncated: boolean };
      return { instanceId: inst.id, entries: r.entries, files: r.files, scannedBytes: r.scannedBytes, truncated: r.truncated };
    },
  );
};
