// Settings → Connections (docs/skills.md "The Google connection"): thin routes over connections/google.ts.
// No route ever returns a token: status says whether Google is connected, with its scope and date.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { GoogleConnectError } from "../connections/google.ts";
import { ApiError } from "../lib/errors.ts";
import type { RouteDeps } from "./index.ts";
import { isoNullable } from "./schemas.ts";

const statusOut = z.object({
  configured: z.boolean().describe("whether this Tropic offers the Google connection (a Google client is configured)"),
  connected: z.boolean(),
  scope: z.string().nullable().describe("the scopes Google granted, space-separated"),
  connectedAt: isoNullable,
});
/** where Google's redirect lands the browser afterwards: the dashboard's Settings, saying how it went */
const SETTINGS = "/settings";

export const connectionRoutes: FastifyPluginAsync<RouteDeps> = async (root, { google, requireCaller }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", requireCaller);
  const tags = ["connections"];
  const service = () => {
    if (!google) throw new ApiError(503, "not_configured", "this Tropic does not offer connections");
    return google;
  };

  app.get(
    "/api/v1/connections/google",
    { schema: { tags, summary: "The Google connection's state (never a token)", response: { 200: statusOut } } },
    async (req) => service().status(req.caller!.id),
  );

  app.post(
    "/api/v1/connections/google/start",
    {
      schema: {
        tags,
        summary: "Starts connecting Google: the URL to send the browser to (OAuth 2.0 code + PKCE, offline, spreadsheets scope)",
        response: { 200: z.object({ url: z.string() }) },
      },
    },
    async (req) => {
      const g = service();
      if (!g.configured)
        throw new ApiError(409, "not_configured", "this Tropic has no Google client configured: ask its operator to set TROPIC_GOOGLE_CLIENT_ID");
      return g.start(req.caller!);
    },
  );

  app.get(
    "/api/v1/connections/google/callback",
    {
      schema: {
        tags,
        summary: "Google's redirect back (same browser session): exchanges the code and redirects to Settings",
        querystring: z
          .object({ state: z.string().max(200).optional(), code: z.string().max(2000).optional(), error: z.string().max(200).optional() })
          .passthrough(),
      },
    },
    async (req, reply) => {
      try {
        await service().callback(req.caller!, req.query);
        return reply.redirect(`${SETTINGS}?google=connected#connections`, 303);
      } catch (e) {
        if (!(e instanceof GoogleConnectError)) throw e;
        req.log.info({ reason: e.reason }, "Google connection refused");
        return reply.redirect(`${SETTINGS}?google=${e.reason}#connections`, 303);
      }
    },
  );

  app.delete(
    "/api/v1/connections/google",
    { schema: { tags, summary: "Disconnects Google: the refresh token is deleted; instances get not_connected", response: { 204: z.null() } } },
    async (req, reply) => {
      await service().disconnect(req.caller!.id);
      return reply.code(204).send(null);
    },
  );
};
