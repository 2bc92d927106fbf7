// The internal link between control-plane nodes (cluster/link.ts): a live request to an agent held
// by this node, asked by a node that does not hold it. Only a live node's credential opens it (the
// load balancer's site also refuses /internal/ from outside, deploy/control-plane/nginx-lb.conf).
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { COMMAND_KINDS } from "@tropic/agent";
import { NODE_AUTH_HEADER } from "../cluster/node.ts";
import { AgentUnavailableError } from "../instances/hub.ts";
import { ApiError } from "../lib/errors.ts";
import type { RouteDeps } from "./index.ts";

const body = z.object({
  kind: z.enum(COMMAND_KINDS),
  payload: z.record(z.string(), z.unknown()),
  timeoutMs: z.number().int().min(100).max(600_000),
});

export const internalRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const manager = deps.instances;
  app.post<{ Params: { id: string }; Body: z.infer<typeof body> }>(
    "/internal/v1/agents/:id/request",
    { schema: { hide: true, params: z.object({ id: z.string().uuid() }), body } },
    async (req) => {
      const cluster = manager?.cluster;
      if (!cluster || !(await cluster.verify(req.headers[NODE_AUTH_HEADER]))) throw new ApiError(401, "unauthorized", "not a node of this cluster");
      try {
        return { ack: await manager.hub.requestHere(req.params.id, req.body.kind, req.body.payload, req.body.timeoutMs) };
      } catch (err) {
        if (err instanceof AgentUnavailableError) throw new ApiError(503, err.reason, err.message);
        throw err;
      }
    },
  );
};
