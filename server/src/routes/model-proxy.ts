// The model proxy's public route, for cloud instances that reach the control plane directly:
// POST /model-proxy/v1/messages and /model-proxy/v1/messages/count_tokens (docs/models.md). The
// request is handed to ModelProxy.handle as it came: Fastify parses no body here (the proxy streams
// it to the upstream and enforces its own 10 MB limit) and the routes are not in the OpenAPI document
// (they are Anthropic's API, authenticated by an instance's model credential, not a user's).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ModelProxy } from "../models/proxy.ts";
import type { RouteDeps } from "./index.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** the model proxy (models/proxy.ts): its handle() serves the public route, listen() an internal listener for the agents' tunnels */
    modelProxy: ModelProxy;
  }
}

export const modelProxyRoutes: FastifyPluginAsync<RouteDeps> = async (app) => {
  // The one the app built (app.ts), so the public route and the internal listener share their limits cache.
  const handler = app.modelProxy;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await handler.handle(req.raw, reply.raw);
  };
  app.post("/model-proxy/v1/messages", { schema: { hide: true } }, handle);
  app.post("/model-proxy/v1/messages/count_tokens", { schema: { hide: true } }, handle);
  // Anything else under the prefix gets the proxy's 404 in Anthropic's error shape, which SDKs show.
  app.all("/model-proxy/*", { schema: { hide: true } }, handle);
};
