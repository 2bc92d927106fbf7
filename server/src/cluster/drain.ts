// A graceful stop of one control-plane node (SIGTERM: `systemctl stop`, a rolling restart;
// docs/scaling.md): the load balancer must see no failed request, and the agents it holds must land
// on the other nodes at once.
//   1. It says it is draining (cluster_nodes.draining) and stops accepting connections: a load
//      balancer's new connection is refused and goes to another node (nginx-lb.conf's
//      proxy_next_upstream; nothing of the request was sent, so a write is retried safely too).
//   2. Requests already being answered finish (up to `graceMs`); every response from now on says
//      `connection: close`, and idle keep-alive connections are closed, so no new request arrives on
//      an old connection.
//   3. Its agents are handed off: closed with AGENT_GOING_AWAY (they reconnect at once, with jitter,
//      through the load balancer) and their claims cleared in one statement.
// Then the caller closes the rest (the app, the database).
import type { IncomingMessage, Server, ServerResponse } from "node:http";

export class NodeDrain {
  private open = new Set<ServerResponse>();
  private draining = false;

  constructor(private server: Server) {
    // Ahead of the app's own listener: every request is counted until its response is done or abandoned.
    server.prependListener("request", (_req: IncomingMessage, res: ServerResponse) => {
      this.open.add(res);
      if (this.draining) res.shouldKeepAlive = false;
      res.once("close", () => this.open.delete(res));
    });
  }

  /** Requests being answered now. */
  get inflight() {
    return this.open.size;
  }

  async run(o: { graceMs?: number; announce?: () => Promise<void>; handOff?: () => Promise<void>; log?: (m: string) => void }) {
    if (this.draining) return;
    this.draining = true;
    await o.announce?.().catch(() => {});
    for (const res of this.open) if (!res.headersSent) res.shouldKeepAlive = false;
    // No new connections (the later full close tolerates a server already closed); idle ones go now.
    this.server.close(() => {});
    this.server.closeIdleConnections();
    const deadline = Date.now() + (o.graceMs ?? 10_000);
    while (this.open.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.open.size) o.log?.(`drain: ${this.open.size} request(s) still open after the grace period; closing them`);
    this.server.closeIdleConnections();
    await o.handOff?.().catch(() => {});
  }
}
