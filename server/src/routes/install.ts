// What runs on hosts comes from the control plane (issue 16, docs/hosts.md "Installer and services"):
// the installer script and the content-hashed bundles it downloads (server/src/hosts/bundle.ts). No
// auth: nothing here is secret; the enrolment token the one-liner carries is what admits a host.
import { createReadStream } from "node:fs";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { hostBundles, installerScript } from "../hosts/bundle.ts";
import type { RouteDeps } from "./index.ts";

/** The URL a host reaches this control plane at: TROPIC_PUBLIC_URL, else the request's own origin (checked: it goes into a script). */
function publicUrl(req: FastifyRequest, configured: string | undefined): string | null {
  if (configured) return new URL(configured).origin;
  const origin = `${req.protocol}://${req.host}`;
  return /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(origin) ? origin : null;
}

export const installRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const bundles = () => hostBundles(deps.config.dataDir, { log: (m) => app.log.info(m) });

  app.get("/install/host.sh", async (req, reply) => {
    const url = publicUrl(req, deps.config.publicUrl);
    if (!url) return reply.code(400).send({ error: "bad_request", message: "the request's Host is not a plain host name; set TROPIC_PUBLIC_URL" });
    return reply.header("content-type", "text/x-shellscript; charset=utf-8").header("cache-control", "no-cache").send(installerScript(url));
  });

  app.get("/install/manifest.json", async (_req, reply) => {
    const m = await bundles().manifest();
    return reply.header("cache-control", "no-cache").send(m);
  });

  app.get<{ Params: { file: string } }>("/install/bundles/:file", async (req, reply) => {
    const f = await bundles().file(req.params.file);
    if (!f) return reply.code(404).send({ error: "not_found", message: "no such bundle (see /install/manifest.json)" });
    return reply
      .header("content-type", "application/gzip")
      .header("content-length", String(f.bytes))
      .header("cache-control", "public, max-age=31536000, immutable")
      .send(createReadStream(f.path));
  });
};
