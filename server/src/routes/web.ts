// The dashboard (web/, built by Vite into web/dist): its pages are one index.html, its assets are
// content-hashed files cached for a year. Without a build, / says how to make one.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync } from "fastify";
import type { RouteDeps } from "./index.ts";

export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "web", "dist");
/** The dashboard's client-side routes: each serves index.html. */
export const WEB_PAGES = [
  "/",
  "/signin",
  "/signup",
  "/agents",
  "/marketplace",
  "/chat",
  "/chat/:instanceId",
  "/policies",
  "/settings",
  "/credits",
  "/audit",
  "/instances/:instanceId/security",
];
const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json",
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tropic</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Tropic control plane</h1>
<p>The control plane is running, but the dashboard is not built: run <code>npm run build:web</code>
(<code>npm ci</code> does it), then reload. The CLI (<code>bin/tropic --help</code>) and the API work meanwhile.</p>
<ul><li><a href="/api/openapi.json">OpenAPI document</a></li><li><a href="/readyz">Readiness</a></li></ul>
</body></html>`;

/**
 * Whether `next` (where sign-in returns to) is a path on this server: "/…", not "//host" or "/\host"
 * (which browsers read as another host), no backslash, whitespace or control character (browsers drop
 * tabs and newlines, turning "/\t/host" into "//host"), at most 2,048 characters. Anything else, an
 * absolute URL above all, would make sign-in an open redirect. The dashboard checks the same
 * (web/src/router.tsx safeNext).
 */
export function safeNextPath(next: unknown): next is string {
  if (typeof next !== "string" || next.length > 2048 || !next.startsWith("/") || next.startsWith("//")) return false;
  if (/[\s\\\u0000-\u001f\u007f]/.test(next)) return false;
  try {
    return new URL(next, "http://tropic.invalid").origin === "http://tropic.invalid";
  } catch {
    return false;
  }
}

const AUTH_PAGES = new Set(["/signin", "/signup"]);

export const webRoutes: FastifyPluginAsync<RouteDeps> = async (app) => {
  const index = join(WEB_DIST, "index.html");
  const page = async () => (existsSync(index) ? readFile(index, "utf8") : NOT_BUILT);
  for (const url of WEB_PAGES)
    app.get(url, { schema: { hide: true } }, async (req, reply) => {
      // A return path that is not a path here is dropped before the page loads (the page refuses it too).
      const next = (req.query as Record<string, unknown>).next;
      if (AUTH_PAGES.has(url) && next !== undefined && !safeNextPath(next)) return reply.redirect(url, 302);
      reply.type("text/html; charset=utf-8").header("cache-control", "no-cache");
      return page();
    });

  app.get("/favicon.svg", { schema: { hide: true } }, async (_req, reply) => {
    const f = join(WEB_DIST, "favicon.svg");
    if (!existsSync(f)) return reply.code(404).send({ error: { code: "not_found", message: "no favicon" } });
    reply.type("image/svg+xml").header("cache-control", "public, max-age=86400");
    return readFileSync(f);
  });

  app.get("/assets/*", { schema: { hide: true } }, async (req, reply) => {
    const rel = (req.params as { "*": string })["*"];
    const file = resolve(WEB_DIST, "assets", rel);
    const root = join(WEB_DIST, "assets") + sep;
    if (!file.startsWith(root) || !existsSync(file) || !realpathSync(file).startsWith(realpathSync(root.slice(0, -1)) + sep))
      return reply.code(404).send({ error: { code: "not_found", message: "no such asset" } });
    reply.type(TYPES[extname(file)] ?? "application/octet-stream").header("cache-control", "public, max-age=31536000, immutable");
    return readFileSync(file);
  });
};
