// A user's own machine as an instance (issue 16): enrolment of a `byo` host with a one-time token.
import type { FastifyPluginAsync } from "fastify";
import type { RouteDeps } from "./index.ts";

export const hostRoutes: FastifyPluginAsync<RouteDeps> = async (_app, _deps) => {};
