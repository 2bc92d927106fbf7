import type { FastifyPluginAsync } from "fastify";
import type { RouteDeps } from "./index.ts";

/** Until the dashboard lands, the root page says what is running and where the API is. */
export const homeRoutes: FastifyPluginAsync<RouteDeps> = async (app) => {
  app.get("/", { schema: { hide: true } }, async (_req, reply) => {
    reply.type("text/html; charset=utf-8");
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tropic</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Tropic control plane</h1>
<p>The control plane is running. The dashboard is not built yet; use the CLI (<code>bin/tropic --help</code>) or the API.</p>
<ul><li><a href="/api/openapi.json">OpenAPI document</a></li><li><a href="/readyz">Readiness</a></li></ul>
</body></html>`;
  });
};
