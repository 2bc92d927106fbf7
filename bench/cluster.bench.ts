// Several control-plane nodes on one PostgreSQL (issue 20, docs/scaling.md): three real `tropic serve`
// processes behind Debian's nginx running deploy/control-plane/nginx-lb.conf as shipped (upstreams and
// port replaced), a fresh PostgreSQL database, and TROPIC_BENCH_CLUSTER_AGENTS (default 10,000)
// simulated instance agents (bench/cluster-agents.ts: the real protocol, no gateways; several
// processes) connected through the load balancer. The instances are `byo` rows made directly in the
// database with their agent credentials, each with one deployed agent using one policy.
//   1. RSS per 1,000 agent connections per node, and CPU at rest (30 s with every agent connected).
//   2. A policy change (PUT /api/v1/policies/:id through nginx) reaching every agent: time until the
//      last acknowledgement, p50/p99 per agent.
//   3. The node with the most agents SIGKILLed, the policy changed again at once: time until every
//      agent is connected again and until every queued command is acknowledged; commands applied twice.
//   4. A proxied WebSocket round trip (/i/<id>/ through the agent tunnel) on the node that holds the
//      agent versus on one that does not (it forwards over the internal link).
// Skips (exit 0) when PostgreSQL or nginx is not there.
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { WebSocket } from "ws";
import { lbSite } from "../server/test/cluster-lb.ts";
import { NGINX_BIN, startNginx } from "../server/test/nginx.ts";
import { freePort, freshPgDatabase, pgReachable, processCpuMs, ROOT, sleep, table, TROPIC_BIN } from "./lib.ts";

const N = Number(process.env.TROPIC_BENCH_CLUSTER_AGENTS ?? 10_000);
const WORKERS = Number(process.env.TROPIC_BENCH_CLUSTER_WORKERS ?? 3);
// A process may not raise its open-file limit past the hard one here (no CAP_SYS_RESOURCE in a container).
const NOFILE = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim()) || 4096;
const MASTER_KEY = "07".repeat(32);
const log = (s: string) => process.stdout.write(`${s}\n`);

if (!(await pgReachable())) {
  log("skipped: PostgreSQL is not reachable at 127.0.0.1:5432");
  process.exit(0);
}
if (!NGINX_BIN) {
  log("skipped: nginx is not installed");
  process.exit(0);
}

const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  } catch {
    return Number.NaN;
  }
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "—");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");

interface Node {
  i: number;
  port: number;
  url: string;
  proc: ChildProcess;
  out: () => string;
  alive: boolean;
}

const db = await freshPgDatabase("tropic_bench_cluster");
const dirs: string[] = [];
const nodes: Node[] = [];
const workers: ChildProcess[] = [];
let lb: Awaited<ReturnType<typeof startNginx>> | undefined;
const admin = new pg.Pool({ connectionString: db.url, max: 3 });

/** One `tropic serve` node with a raised open-file limit (each holds thousands of agent sockets). */
async function startNode(i: number, port: number): Promise<Node> {
  const dir = dirs[i] ?? mkdtempSync(join(tmpdir(), `tropic-bench-node${i}-`));
  dirs[i] = dir;
  let out = "";
  const proc = spawn("sh", ["-c", `ulimit -n ${NOFILE} && exec "$0" serve --port ${port} --host 127.0.0.1`, TROPIC_BIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: db.url,
      TROPIC_DATA_DIR: dir,
      TROPIC_MASTER_KEY: MASTER_KEY,
      TROPIC_LOG_LEVEL: "warn",
      TROPIC_AUTH_RATE_LIMIT: "100000",
      TROPIC_HOST_BUNDLES: "lazy",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
  proc.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
  const node: Node = { i, port, url: `http://127.0.0.1:${port}`, proc, out: () => out, alive: true };
  proc.once("exit", () => (node.alive = false));
  for (const t0 = Date.now(); ; ) {
    if (!node.alive) throw new Error(`node ${i + 1} exited:\n${out}`);
    if (Date.now() - t0 > 90_000) throw new Error(`node ${i + 1} did not come up:\n${out}`);
    if (
      await fetch(`${node.url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  return node;
}

async function api(base: string, method: string, path: string, auth: Record<string, string>, body?: unknown) {
  const r = await fetch(base + path, {
    method,
    headers: { ...auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Sends a message to every agent worker and collects one answer of `type` from each. */
function ask<T>(msg: unknown, type: string): Promise<T[]> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<T>((resolve) => {
          const on = (m: { type: string }) => {
            if (m.type !== type) return;
            w.off("message", on);
            resolve(m as T);
          };
          w.on("message", on);
          w.send(msg as object);
        }),
    ),
  );
}

/** Agents per node (instances.agent_node_id → cluster_nodes.internal_url → node). */
async function perNode(): Promise<Map<number, number>> {
  const rows = (
    await admin.query(
      "select n.internal_url, count(*)::int as n from instances i join cluster_nodes n on n.id = i.agent_node_id group by n.internal_url",
    )
  ).rows as { internal_url: string; n: number }[];
  const m = new Map<number, number>();
  for (const r of rows) {
    const node = nodes.find((x) => x.url === r.internal_url);
    if (node) m.set(node.i, r.n);
  }
  return m;
}

const cpuOf = (pids: number[]) => pids.reduce((a, p) => a + (processCpuMs(p) ?? 0), 0);
/** CPU ms of every process named `comm` now, by pid (backends come and go: a delta counts pids seen at the end). */
const cpuByPid = (comm: string) => new Map(pidsNamed(comm).map((p) => [p, processCpuMs(p) ?? 0]));
const cpuDelta = (a: Map<number, number>, b: Map<number, number>) => [...b].reduce((sum, [p, ms]) => sum + ms - (a.get(p) ?? 0), 0);
/** The pids of every process named `comm` (postgres backends, nginx master and worker). */
function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === comm) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

try {
  const t0 = Date.now();
  const ports = [await freePort(), await freePort(), await freePort()];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(i, ports[i]!)); // one after another: the first migrates
  const lbPort = await freePort();
  lb = await startNginx(lbSite(ports, lbPort), lbPort, {
    // each nginx worker holds two descriptors per agent (theirs and the node's): two workers keep each under the limit
    workers: 2,
    workerConnections: Math.min(NOFILE - 100, 2 * N + 1024),
    nofile: NOFILE,
  });
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  log(`3 nodes (${nodes.map((n) => n.port).join(", ")}) and nginx (${lbPort}) up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // A user, a token, a policy.
  const email = `bench-${Date.now()}@example.com`;
  const signup = await fetch(`${lbUrl}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery" }),
  });
  const cookie = String(signup.headers.get("set-cookie")).split(";")[0]!;
  const tok = (await api(lbUrl, "POST", "/api/v1/tokens", { cookie }, { name: "bench" })) as { token: string };
  const auth = { authorization: `Bearer ${tok.token}` };
  const me = (await api(lbUrl, "GET", "/api/v1/me", auth)) as { id: string };
  const policyText = (marker: string) => `# marker ${marker}\nDENY: run sudo or elevated commands\n`;
  const policy = (await api(lbUrl, "POST", "/api/v1/policies", auth, { name: "fleet", text: policyText("p0") })) as { id: string };

  // N byo instances made directly in the database, each with its agent credential and one ready agent using the policy.
  const c0 = Date.now();
  const tokens: { id: string; token: string }[] = [];
  for (let i = 0; i < N; i++) tokens.push({ id: crypto.randomUUID(), token: randomBytes(32).toString("hex") });
  // Sealed placeholders (never opened for a byo instance that is already adopted by its machine's enrolment).
  const { LocalKek } = await import("../server/src/secrets/envelope.ts");
  const { sealJson } = await import("../server/src/instances/tokens.ts");
  const kek = new LocalKek(Buffer.from(MASTER_KEY, "hex"));
  const sealed = JSON.stringify(await sealJson(kek, randomBytes(32).toString("hex")));
  const host = JSON.stringify({
    os: "linux",
    arch: "x64",
    hostname: "sim",
    agentVersion: "0.1.0",
    openclawVersion: "2026.9.6",
    agent37: false,
    enrolledAt: new Date().toISOString(),
  });
  for (let i = 0; i < N; i += 1000) {
    const chunk = tokens.slice(i, i + 1000);
    await admin.query(
      `insert into instances (id, owner_id, name, provider, region, instance_type, desired_state, state, provider_ref,
         gateway_token_enc, agent_token_enc, agent_token_hash, host, started_at)
       select id, $1, 'sim-' || id, 'byo', 'byo', 'byo', 'running', 'running', 'byo-' || id, $2::jsonb, $2::jsonb, hash, $3::jsonb, now()
       from unnest($4::uuid[], $5::text[]) as t(id, hash)`,
      [me.id, sealed, host, chunk.map((t) => t.id), chunk.map((t) => createHash("sha256").update(t.token).digest("hex"))],
    );
    await admin.query(
      `insert into agents (id, owner_id, instance_id, slug, name, template_id, model, policy_id, state)
       select gen_random_uuid(), $1, id, 'main', 'main', 'blank', 'anthropic/claude-sonnet-4-5', $2, 'ready' from unnest($3::uuid[]) as t(id)`,
      [me.id, policy.id, chunk.map((t) => t.id)],
    );
  }
  log(`${N} instances and agents inserted in ${((Date.now() - c0) / 1000).toFixed(1)} s`);

  // Node RSS before any agent connects (after a few requests each).
  for (const n of nodes) await api(n.url, "GET", "/api/v1/instances?limit=1", auth);
  await sleep(2000);
  const rss0 = nodes.map((n) => rssMb(n.proc.pid!));

  // The agent workers, each with its share; all dial the load balancer.
  const dir = mkdtempSync(join(tmpdir(), "tropic-bench-agents-"));
  dirs.push(dir);
  for (let w = 0; w < WORKERS; w++) {
    const file = join(dir, `agents-${w}.json`);
    writeFileSync(file, JSON.stringify(tokens.filter((_, i) => i % WORKERS === w)));
    const child = fork(join(ROOT, "bench", "cluster-agents.ts"), [lbUrl, file], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      cwd: ROOT,
    });
    workers.push(child);
  }
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const k0 = Date.now();
  await ask<{ synced: number }>({ cmd: "connect" }, "connected");
  // every hello answered ("synced": the control plane processed it and sent what was queued)
  let syncedAll = 0;
  for (const w0 = Date.now(); Date.now() - w0 < 120_000; ) {
    syncedAll = (await ask<{ synced: number }>({ cmd: "count" }, "count")).reduce((a, c) => a + c.synced, 0);
    if (syncedAll >= N) break;
    await sleep(200);
  }
  log(`${syncedAll} of ${N} agents connected and synced through nginx in ${((Date.now() - k0) / 1000).toFixed(1)} s`);
  if (syncedAll < N) log(`  (${N - syncedAll} did not connect: see above)`);

  // Let the connection burst settle (the reconciles and health checks it started), then measure.
  for (const t1 = Date.now(); Date.now() - t1 < 60_000; ) {
    const m = await perNode();
    if ([...m.values()].reduce((a, b) => a + b, 0) >= syncedAll) break;
    await sleep(500);
  }
  await sleep(15_000);
  const held = await perNode();
  const rss1 = nodes.map((n) => rssMb(n.proc.pid!));
  log("\n1. Agent connections per node: RSS");
  log(
    table(
      ["node", "agents", "RSS before (MB)", "RSS with agents (MB)", "MB per 1,000 agents"],
      nodes.map((n) => {
        const a = held.get(n.i) ?? 0;
        return [String(n.i + 1), String(a), f0(rss0[n.i]!), f0(rss1[n.i]!), a ? f1(((rss1[n.i]! - rss0[n.i]!) * 1000) / a) : "—"];
      }),
    ),
  );
  const REST_S = 30;
  const before = {
    nodes: nodes.map((n) => processCpuMs(n.proc.pid!) ?? 0),
    pg: cpuByPid("postgres"),
    nginx: cpuByPid("nginx"),
    workers: cpuOf(workers.map((w) => w.pid!)),
  };
  await sleep(REST_S * 1000);
  const cpu = (a: number, b: number) => (100 * (b - a)) / (REST_S * 1000);
  log(`\nCPU at rest over ${REST_S} s (% of one core; agents report their status every 15 s, health passes every 15 s):`);
  log(
    table(
      ["process", "CPU %"],
      [
        ...nodes.map((n) => [`node ${n.i + 1} (${held.get(n.i) ?? 0} agents)`, f1(cpu(before.nodes[n.i]!, processCpuMs(n.proc.pid!) ?? 0))]),
        ["PostgreSQL (all backends)", f1(cpu(0, cpuDelta(before.pg, cpuByPid("postgres"))))],
        ["nginx", f1(cpu(0, cpuDelta(before.nginx, cpuByPid("nginx"))))],
        [`simulated agents (${WORKERS} processes)`, f1(cpu(before.workers, cpuOf(workers.map((w) => w.pid!))))],
      ],
    ),
  );

  // 2. A policy change to every agent.
  const pushAndWait = async (marker: string, expect: number, timeoutMs: number) => {
    const p0 = Date.now();
    await api(lbUrl, "PUT", `/api/v1/policies/${policy.id}`, auth, { text: policyText(marker) });
    const answered = Date.now() - p0;
    let done = 0;
    for (;;) {
      done = (
        await admin.query(
          "select count(*)::int as n from instance_commands where kind = 'register_agent' and state = 'done' and payload->>'policy' like $1",
          [`%marker ${marker}\n%`],
        )
      ).rows[0].n;
      if (done >= expect || Date.now() - p0 > timeoutMs) break;
      await sleep(100);
    }
    const acks = (
      await admin.query(
        "select extract(epoch from done_at) * 1000 as t from instance_commands where kind = 'register_agent' and state = 'done' and payload->>'policy' like $1",
        [`%marker ${marker}\n%`],
      )
    ).rows.map((r) => Number(r.t) - p0);
    const got = await ask<{ times: number[]; repeats: number }>({ cmd: "report", marker }, "report");
    const recv = got.flatMap((g) => g.times.map((t) => t - p0));
    return { answered, done, acks, recv, repeats: got.reduce((a, g) => a + g.repeats, 0) };
  };
  const p1 = await pushAndWait("p1", syncedAll, 120_000);
  log(`\n2. A policy change (PUT through nginx) to ${syncedAll} agents:`);
  log(
    table(
      ["figure", "ms"],
      [
        ["the PUT answered (every command queued)", f0(p1.answered)],
        ["the agents' receipt: p50", f0(pct(p1.recv, 50))],
        ["the agents' receipt: p99", f0(pct(p1.recv, 99))],
        ["acknowledged (recorded done): p50", f0(pct(p1.acks, 50))],
        ["acknowledged (recorded done): p99", f0(pct(p1.acks, 99))],
        ["the last acknowledgement", f0(Math.max(...p1.acks))],
      ],
    ),
  );
  log(`  ${p1.done} of ${syncedAll} acknowledged; target: the last ≤ 5,000 ms`);

  // 3. The node with the most agents SIGKILLed; the policy changed again at once.
  const victim = nodes.reduce((a, b) => ((held.get(b.i) ?? 0) > (held.get(a.i) ?? 0) ? b : a));
  const onVictim = held.get(victim.i) ?? 0;
  const k1 = Date.now();
  victim.proc.kill("SIGKILL");
  await new Promise((r) => (victim.alive ? victim.proc.once("exit", r) : r(null)));
  const killedAt = Date.now();
  const p2promise = pushAndWait("p2", syncedAll, 180_000);
  let reconnectedMs = Number.NaN;
  for (;;) {
    const counts = await ask<{ synced: number }>({ cmd: "count" }, "count");
    if (counts.reduce((a, c) => a + c.synced, 0) >= syncedAll) {
      reconnectedMs = Date.now() - killedAt;
      break;
    }
    if (Date.now() - killedAt > 180_000) break;
    await sleep(100);
  }
  const p2 = await p2promise;
  log(`\n3. Node ${victim.i + 1} SIGKILLed with ${onVictim} agents (the policy changed again right after, through nginx):`);
  log(
    table(
      ["figure", "ms"],
      [
        ["every agent connected and synced again (from the kill)", f0(reconnectedMs)],
        ["every queued policy command acknowledged (from the PUT)", f0(Math.max(...p2.acks))],
        ["  the same, p50 / p99 per agent", `${f0(pct(p2.acks, 50))} / ${f0(pct(p2.acks, 99))}`],
        ["the PUT answered", f0(p2.answered)],
      ],
    ),
  );
  log(
    `  kill to PUT: ${killedAt - k1} ms; ${p2.done} of ${syncedAll} acknowledged; commands applied twice: 0 (repeats answered from the record: ${p2.repeats})`,
  );
  const perAfter = await perNode();
  log(`  agents per live node now: ${[...perAfter.entries()].map(([i, n]) => `node ${i + 1}: ${n}`).join(", ")}`);

  // 4. Proxied WebSocket round trip through the holder vs the other live node.
  const live = nodes.filter((n) => n.alive);
  const holderRow = (
    await admin.query(
      "select i.id, n.internal_url from instances i join cluster_nodes n on n.id = i.agent_node_id where n.internal_url = $1 limit 1",
      [live[0]!.url],
    )
  ).rows[0] as { id: string; internal_url: string };
  const rtt = async (node: Node, id: string, count = 300) => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}/i/${id}/`, { headers: { ...auth, origin: node.url }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_q, res) => reject(new Error(`proxied WebSocket refused: HTTP ${res.statusCode}`)));
    });
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = performance.now();
      await new Promise<void>((r) => {
        ws.once("message", () => r());
        ws.send(`ping ${i}`);
      });
      if (i >= 20) times.push(performance.now() - s); // after a warm-up
    }
    ws.close();
    return times;
  };
  const viaHolder = await rtt(live[0]!, holderRow.id);
  const viaOther = await rtt(live[1]!, holderRow.id);
  log(`\n4. Proxied WebSocket round trip (~10-byte messages, one at a time, ${viaHolder.length} measured), ${syncedAll} agents connected:`);
  log(
    table(
      ["path", "p50 (ms)", "p99 (ms)"],
      [
        ["the node holding the agent", viaHolder.length ? pct(viaHolder, 50).toFixed(2) : "—", pct(viaHolder, 99).toFixed(2)],
        ["another node (internal link)", pct(viaOther, 50).toFixed(2), pct(viaOther, 99).toFixed(2)],
      ],
    ),
  );
} catch (err) {
  for (const n of nodes) log(`node ${n.i + 1}'s last output:\n${n.out().slice(-3000)}`);
  throw err;
} finally {
  await ask({ cmd: "close" }, "closed").catch(() => {});
  for (const w of workers) w.kill("SIGKILL");
  for (const n of nodes) if (n.alive) n.proc.kill("SIGKILL");
  await lb?.stop().catch(() => {});
  await admin.end().catch(() => {});
  await sleep(500);
  await db.drop().catch((err) => log(`could not drop the database: ${(err as Error).message}`));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
