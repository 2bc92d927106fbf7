// A user's own machine as an instance (issue 16, docs/hosts.md): enrolment of a `byo` host with a
// one-time token. The logic is in hosts/service.ts.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { connectMachine, enrol, newEnrolment, publicBase } from "../hosts/service.ts";
import type { RouteDeps } from "./index.ts";
import { instanceOut, instanceView } from "./instances.ts";
import { errorBody, idParam, name } from "./schemas.ts";

const enrolmentOut = z.object({
  token: z.string().describe("the one-time enrolment token (tet_…): 15 minutes, one use; shown once"),
  expiresAt: z.date(),
  command: z.string().describe("the one-liner to run on the machine: curl -fsSL <tropic>/install/host.sh | sh -s -- --token <token>"),
});
const connectOut = z.object({ instance: instanceOut, enrolment: enrolmentOut });

const short = (what: string) => z.string().trim().min(1).max(100).describe(what);
const enrolBody = z.strictObject({
  token: z.string().max(200).describe("the enrolment token from the one-liner"),
  host: z
    .object({
      os: short("linux or darwin"),
      arch: short("x64 or arm64"),
      hostname: z.string().trim().min(1).max(255),
      agentVersion: short("the instance agent's version"),
      openclawVersion: short("the OpenClaw version installed"),
      agent37: z.boolean().optional().describe("OPENCLAW_STARTER_PROXY_URL or AGENT37_LLM_PROXY_URL is set: an Agent37 machine"),
    })
    .describe("what the installer found on the machine (fields it does not know are ignored)"),
});
const enrolOut = z.object({
  instanceId: z.string(),
  agentToken: z.string().describe("the instance's 64-character management credential: the agent presents it to the agent endpoint; keep it 0600"),
  agentUrl: z.string().describe("the agent endpoint (ws:// or wss://) the host's agent dials"),
  gatewayToken: z.string().describe("the gateway's auth token (openclaw.json gateway.auth.token)"),
});

export const hostRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, kek, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const d = { db: database.db, config, kek, manager };
  const tags = ["hosts"];

  app.post(
    "/api/v1/instances/connect",
    {
      preHandler: requireCaller,
      schema: {
        tags,
        summary: "Connect your own machine: a new byo instance and the one-liner that enrols it",
        body: z.strictObject({ name: name.describe("unique among the caller's instances (409 when taken)") }),
        response: { 201: connectOut },
      },
    },
    async (req, reply) => {
      const r = await connectMachine(d, req.caller!.id, req.body.name, publicBase(config, req));
      return reply.code(201).send({ instance: instanceView(r.instance, manager), enrolment: r.enrolment });
    },
  );

  app.post(
    "/api/v1/instances/:id/enrolment",
    {
      preHandler: requireCaller,
      schema: {
        tags,
        summary: "A fresh one-liner for a byo instance (not enrolled yet, or to install it again); earlier tokens stop working",
        params: idParam,
        response: { 201: connectOut, 409: errorBody },
      },
    },
    async (req, reply) => {
      const r = await newEnrolment(d, req.caller!.id, req.params.id, publicBase(config, req));
      return reply.code(201).send({ instance: instanceView(r.instance, manager), enrolment: r.enrolment });
    },
  );

  // No user here: the enrolment token is the credential. Rate limited like sign-in; the body is never logged.
  app.post(
    "/api/v1/hosts/enrol",
    {
      config: { rateLimit: { max: config.authRateLimit, timeWindow: "1 minute" } },
      schema: {
        tags,
        summary: "A host's installer exchanges its one-time enrolment token for its instance's credentials",
        security: [],
        body: enrolBody,
        response: { 200: enrolOut, 401: errorBody },
      },
    },
    async (req) => enrol(d, req.body.token, req.body.host, publicBase(config, req)),
  );
};
