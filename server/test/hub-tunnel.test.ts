// The agent channel's tunnel, seen from the control plane, with a stand-in agent over a real
// WebSocket: the control plane's streams reach the agent's gateway; the only stream an agent may open
// the other way is one to the model proxy's listener (nothing else, whatever it asks for).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { instances } from "../src/db/schema.ts";
import { AgentHub } from "../src/instances/hub.ts";
import { sha256Hex } from "../src/lib/tokens.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { signUp, TEST_KEY, testApp } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";
import { eq } from "drizzle-orm";

test("[pglite] tunnel: the hub's streams reach the agent's gateway; an agent opens streams only to the model proxy", async (t) => {
  const h = await testApp("pglite");
  const gateway = createServer((q, r) => r.end(`gateway ${q.url}`)).listen(0, "127.0.0.1");
  const modelProxy = createServer((q, r) => r.end(`model proxy ${q.method} ${q.url}`)).listen(0, "127.0.0.1");
  const hub = new AgentHub({ db: h.database.db, kek: new LocalKek(TEST_KEY), log: h.app.log });
  const server = createServer((_q, r) => r.writeHead(404).end());
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(async () => {
    await hub.close();
    server.close();
    gateway.close();
    modelProxy.close();
    await h.close();
  });
  const u = await signUp(h.app);
  const inst = (await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "t" } })).json();
  const token = randomBytes(32).toString("hex");
  await h.database.db
    .update(instances)
    .set({ agentTokenHash: sha256Hex(token) })
    .where(eq(instances.id, inst.id));
  const agent = await connectStandInAgent({
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    instanceId: inst.id,
    port: (gateway.address() as AddressInfo).port,
  });
  t.after(() => agent.close());
  for (let i = 0; i < 50 && !hub.connected(inst.id); i++) await new Promise((r) => setTimeout(r, 20));

  // Control plane → gateway (what the proxy and the health check do).
  assert.equal(await hub.probe(inst.id, "/readyz"), 200);
  assert.equal(await hub.probe(crypto.randomUUID(), "/readyz"), 502, "no agent: what nginx answers for a gateway not up");

  // Agent → control plane: refused unless it is the model proxy, and only when this process serves one.
  const open = (meta: Record<string, unknown>) =>
    new Promise<string>((resolve) => {
      const s = agent.mux.open(meta);
      s.on("error", (e) => resolve(`refused: ${e.message}`));
      const req = request({ createConnection: () => s as never, method: "POST", path: "/v1/messages", headers: { host: "x" } }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      });
      req.on("error", (e) => resolve(`refused: ${e.message}`));
      req.end("{}");
    });
  assert.match(await open({ to: "model-proxy" }), /refused: this control plane serves no model proxy/);
  hub.modelProxyPort = (modelProxy.address() as AddressInfo).port;
  for (const meta of [{ to: "gateway" }, { to: "api" }, { host: "127.0.0.1", port: 5432 }, {}])
    assert.match(await open(meta), /refused: the control plane accepts only model-proxy streams/, JSON.stringify(meta));
  assert.equal(await open({ to: "model-proxy" }), "model proxy POST /v1/messages");
});
