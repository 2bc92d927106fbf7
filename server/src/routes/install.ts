// What runs on hosts comes from the control plane (issue 16): the installer script and the
// content-hashed bundles it downloads.
import type { FastifyPluginAsync } from "fastify";
import type { RouteDeps } from "./index.ts";

export const installRoutes: FastifyPluginAsync<RouteDeps> = async (_app, _deps) => {};
