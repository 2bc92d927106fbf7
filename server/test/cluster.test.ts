// Two control-plane nodes on one PostgreSQL (issue 20, docs/scaling.md): a stand-in agent (the real
// protocol, a stand-in gateway on loopback) connected to node 1 is reached through node 2 — a command
// queued on node 2 is delivered at once (LISTEN/NOTIFY), a live request and the proxy are forwarded
// over the internal link — and the internal link refuses anything but a live node's credential.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import { openDatabase } from "../src/db/connect.ts";
import { enqueueCommand } from "../src/instances/commands.ts";
import { ByoProvider, LocalProvider } from "@tropic/providers";
import { byoControlPlane, freshDatabase, pgReachable, signUp } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const HOST = { os: "linux", arch: "x64", hostname: "box", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };

test("[postgres] two nodes: an agent on node 1 is reached through node 2 (commands, live requests, proxy); the internal link needs a node's credential; a node that leaves releases its agents", async (t) => {
  if (!(await pgReachable())) return t.skip("PostgreSQL is not reachable");
  const database = await freshDatabase("postgres");
  const second = Object.assign(await openDatabase({ url: database.url!, dataDir: database.dataDir }), { dataDir: database.dataDir });
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end(`gateway says ${req.url}`)).listen(0, "127.0.0.1");
  const node = (db: typeof database) => byoControlPlane(db, { config: { databaseUrl: database.url } });
  const n1 = await node(database);
  const n2 = await node(second);
  t.after(async () => {
    await n1.app.close().catch(() => {});
    await n2.app.close().catch(() => {});
    gateway.close();
    await second.close();
    await database.close();
  });
  const u = await signUp(n1.app);
  const call = (app: typeof n1.app, method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });

  // A user's machine enrols (through node 1) and its agent connects to node 1.
  const c = (await call(n1.app, "POST", "/api/v1/instances/connect", { name: "box" })).json();
  const creds = await (
    await fetch(`${n1.address}/api/v1/hosts/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: c.enrolment.token, host: HOST }),
    })
  ).json();
  const id = c.instance.id as string;
  const port = (gateway.address() as AddressInfo).port;
  const agent = await connectStandInAgent({ base: n1.address, token: creds.agentToken, instanceId: id, port });
  const got: { kind: string; at: number }[] = [];
  agent.ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(String(data));
    if (f.type !== "command") return;
    got.push({ kind: f.kind, at: Date.now() });
    agent.ws.send(
      JSON.stringify({ type: "ack", id: f.id, ok: true, result: f.kind === "read_gate_audit" ? { entries: [], answeredBy: "agent" } : undefined }),
    );
  });
  t.after(() => agent.close());
  for (let i = 0; i < 200 && !(await n2.app.instances!.cluster.holder(id)); i++) await new Promise((r) => setTimeout(r, 25));
  const holder = await n2.app.instances!.cluster.holder(id);
  assert.equal(holder?.nodeId, n1.app.instances!.cluster.id, "node 1 holds the agent, as PostgreSQL records it");
  assert.equal(n2.app.instances!.hub.connected(id), false);
  assert.equal(await n2.app.instances!.hub.reachable(id), true, "reachable from node 2 through node 1");

  for (let i = 0; i < 400 && (await call(n2.app, "GET", `/api/v1/instances/${id}`)).json().state !== "running"; i++)
    await new Promise((r) => setTimeout(r, 25));
  const seen = (await call(n2.app, "GET", `/api/v1/instances/${id}`)).json();
  assert.equal(seen.state, "running", "running, read by node 2");
  assert.equal(seen.host.connected, true, "node 2 shows the host connected (to node 1)");

  // A stop asked of node 2 reaches the agent on node 1 (through the reconciler, on whichever node runs its job).
  const t0 = Date.now();
  assert.equal((await call(n2.app, "POST", `/api/v1/instances/${id}/stop`)).statusCode, 202);
  for (let i = 0; i < 1000 && !got.some((g) => g.kind === "stop_gateway"); i++) await new Promise((r) => setTimeout(r, 10));
  const stop = got.find((g) => g.kind === "stop_gateway");
  assert.ok(stop, `stop_gateway delivered (got ${got.map((g) => g.kind).join(", ")})`);
  t.diagnostic(`a stop through node 2 reached the agent on node 1 in ${stop.at - t0} ms`);

  // A command queued straight into the table by node 2 (what every route does) is delivered by
  // node 1 on the NOTIFY, not on a later look.
  const t1 = Date.now();
  await enqueueCommand(second.db, { ownerId: u.id, instanceId: id, kind: "set_authorized_keys", payload: { keys: [], marker: "cluster" } });
  for (let i = 0; i < 300 && got.filter((g) => g.kind === "set_authorized_keys").length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  const woken = got.filter((g) => g.kind === "set_authorized_keys")[1];
  assert.ok(woken, `the queued command reached the agent (got ${got.map((g) => g.kind).join(", ")})`);
  assert.ok(woken.at - t1 < 1000, `within 1 s (took ${woken.at - t1} ms)`);
  t.diagnostic(`a command queued on node 2 reached the agent on node 1 in ${woken.at - t1} ms`);

  // A live request through node 2 is answered by the agent on node 1.
  const ack = await n2.app.instances!.hub.request(id, "read_gate_audit", { limit: 1 }, 5000);
  assert.deepEqual(ack, { ok: true, result: { entries: [], answeredBy: "agent" } });

  // The proxy on node 2 reaches the gateway through node 1's tunnel.
  const probe = await n2.app.instances!.hub.probe(id, "/readyz");
  assert.equal(probe, 200, "node 2's health probe through node 1");
  const proxied = await call(n2.app, "GET", `/i/${id}/anything`);
  assert.equal(proxied.statusCode, 404, proxied.body);
  assert.equal(proxied.body, `gateway says /i/${id}/anything`);

  // The internal link: no credential, a made-up one, or a node that is not registered → refused.
  for (const header of [undefined, `Node ${n2.app.instances!.cluster.id}.${"0".repeat(64)}`, `Node ${crypto.randomUUID()}.${"1".repeat(64)}`]) {
    const r = await fetch(`${n1.address}/internal/v1/agents/${id}/request`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(header ? { "x-tropic-node": header } : {}) },
      body: JSON.stringify({ kind: "read_gate_audit", payload: {}, timeoutMs: 1000 }),
    });
    assert.equal(r.status, 401, `request refused for ${header?.slice(0, 12)}`);
    const ws = new WebSocket(`${n1.address.replace(/^http/, "ws")}/internal/v1/agents/${id}/stream`, {
      headers: header ? { "x-tropic-node": header } : {},
    });
    const status = await new Promise<number>((r) => {
      ws.once("unexpected-response", (_q, res) => r(res.statusCode ?? 0));
      ws.once("open", () => r(101));
      ws.once("error", () => r(-1));
    });
    assert.equal(status, 401, `stream refused for ${header?.slice(0, 12)}`);
  }

  // Node 1 leaves (a graceful stop): its registration and its claim on the agent go with it; the
  // agent reconnects to node 2, which then holds it and delivers there.
  await n1.app.close();
  assert.equal(await n2.app.instances!.cluster.holder(id), null, "nobody holds the agent after node 1 left");
  const again = await connectStandInAgent({ base: n2.address, token: creds.agentToken, instanceId: id, port });
  t.after(() => again.close());
  for (let i = 0; i < 200 && !(await n2.app.instances!.cluster.holder(id))?.self; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal((await n2.app.instances!.cluster.holder(id))?.self, true);
  assert.equal(await n2.app.instances!.hub.probe(id, "/readyz"), 200);
});

test("[postgres] a cluster refuses local instances (they would run on whichever node ran their job): 400 naming provider, nothing written", async (t) => {
  if (!(await pgReachable())) return t.skip("PostgreSQL is not reachable");
  const database = await freshDatabase("postgres");
  const second = Object.assign(await openDatabase({ url: database.url!, dataDir: database.dataDir }), { dataDir: database.dataDir });
  // the local provider enabled on both nodes, as `tropic serve` does (it is never asked to run anything here)
  const node = (db: typeof database) =>
    byoControlPlane(db, {
      config: { databaseUrl: database.url },
      manager: { providers: { byo: new ByoProvider(), local: new LocalProvider({ dataDir: db.dataDir }) } },
    });
  const n1 = await node(database);
  const n2 = await node(second);
  t.after(async () => {
    await n1.app.close().catch(() => {});
    await n2.app.close().catch(() => {});
    await second.close();
    await database.close();
  });
  const u = await signUp(n1.app);
  for (const app of [n1.app, n2.app]) {
    const r = await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "here", provider: "local" } });
    assert.equal(r.statusCode, 400, r.body);
    const e = r.json().error;
    assert.equal(e.field, "provider");
    assert.match(e.message, /local instances run on the control plane's own machine, and this Tropic runs as 2 nodes: use "byo"/);
    assert.deepEqual(e.details.available, ["byo"]);
  }
  const list = await n1.app.inject({ method: "GET", url: "/api/v1/instances", headers: u.auth });
  assert.deepEqual(list.json().items, [], "nothing half-made");
  // A user's own machine is what a cluster runs: accepted on the same nodes.
  const byo = await n2.app.inject({ method: "POST", url: "/api/v1/instances/connect", headers: u.auth, payload: { name: "box" } });
  assert.equal(byo.statusCode, 201, byo.body);
});
