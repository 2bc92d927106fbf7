import type { FastifyInstance } from "fastify";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** One registry per app, so tests that build several apps do not collide. */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "tropic_http_requests_total",
    help: "HTTP requests by route template and status",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "tropic_http_request_duration_seconds",
    help: "HTTP request duration by route template",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "tropic_" });
  }

  instrument(app: FastifyInstance) {
    app.addHook("onResponse", async (req, reply) => {
      // Route templates, never raw URLs: ids would explode label cardinality.
      const route = req.routeOptions.url ?? "unmatched";
      this.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
      this.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    });
  }
}
