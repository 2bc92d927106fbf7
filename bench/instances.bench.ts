// Instances (issues 5, 12): create → running on an EMPTY runtime directory (the ~840 MB install
// included) and on the warm shared runtime, first and fifth instance; deploy → ready (ready = the
// gateway's agents.list runs it); the instance agent's RSS; the control plane's RSS with N running
// instances. A real `bin/tropic serve` (embedded database) on a fresh data directory, real sandboxed
// gateways. Everything is destroyed at the end.
//   node --import tsx bench/instances.bench.ts   (N = 5; TROPIC_BENCH_INSTANCES=3 for fewer;
//                                                 TROPIC_BENCH_FRESH_RUNTIME=0 skips the fresh install)
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../plugin/test/harness.ts";
import { Api, destroyAll, freshDataDir, instanceFiles, removeDir, serveProcess } from "../server/test/instances-harness.ts";
import { median } from "./lib.ts";

const N = Number(process.env.TROPIC_BENCH_INSTANCES ?? 5);
const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
};

const out: Record<string, number> = {};
// The first instance on an empty runtime directory: what a newcomer waits for after `npm start`.
if (process.env.TROPIC_BENCH_FRESH_RUNTIME !== "0") {
  const freshData = freshDataDir();
  const runtimeDir = mkdtempSync(join(tmpdir(), "tropic-bench-runtime-"));
  const s = await serveProcess(freshData, await freePort(), { runtimeDir });
  try {
    const api = await new Api(s.url).as(`bench-fresh-${Date.now()}@example.com`);
    const t0 = performance.now();
    const inst = (await api.call("POST", "/api/v1/instances", { name: "fresh" })).json;
    await api.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 900_000, "the fresh instance running");
    out.createRunningFreshRuntimeS = (performance.now() - t0) / 1000;
    process.stderr.write(`fresh runtime: running after ${out.createRunningFreshRuntimeS.toFixed(1)} s\n`);
  } finally {
    await s.stop().catch(() => {});
    await destroyAll(freshData);
    removeDir(freshData);
    removeDir(runtimeDir);
  }
}

const dataDir = freshDataDir();
const port = await freePort();
const serve = await serveProcess(dataDir, port);
try {
  const api = await new Api(serve.url).as(`bench-${Date.now()}@example.com`);
  const createMs: number[] = [];
  const ids: string[] = [];
  const toStart: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const inst = (await api.call("POST", "/api/v1/instances", { name: `bench-${i}` })).json;
    const done = await api.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, `instance ${i} running`);
    createMs.push(performance.now() - t0);
    // where the time goes: the control plane's steps up to the agent's start, then the gateway's own boot
    toStart.push(Date.parse(done.startedAt) - Date.parse(done.createdAt));
    ids.push(inst.id);
    process.stderr.write(`instance ${i + 1}/${N} running after ${(createMs.at(-1)! / 1000).toFixed(1)} s\n`);
    if (i === 0) {
      const deployMs: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t1 = performance.now();
        const a = (await api.call("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant", slug: `bench-${k}` })).json;
        await api.until(`/api/v1/agents/${a.id}`, (j) => j.state === "ready", 60_000, "agent ready");
        deployMs.push(performance.now() - t1);
      }
      out.deployReadyMedianS = median(deployMs) / 1000;
      out.deployReadyMaxS = Math.max(...deployMs) / 1000;
    }
  }
  await new Promise((r) => setTimeout(r, 20_000)); // let agents and the control plane settle (two status reports)
  out.createRunningFirstS = createMs[0]! / 1000;
  out.createRunningLastS = createMs.at(-1)! / 1000;
  out.createRunningMedianS = median(createMs) / 1000;
  out.createToAgentStartMedianS = median(toStart) / 1000;
  const agentRss = ids.map((id) => rssMb(instanceFiles(dataDir, id).agentPid()));
  out.agentRssMedianMb = median(agentRss);
  out.agentRssMaxMb = Math.max(...agentRss);
  const gwRss = ids.map((id) => (instanceFiles(dataDir, id).status().gatewayRssBytes ?? 0) / 1048576);
  out.gatewayRssMedianMb = median(gwRss);
  out.instances = N;
  out.controlPlaneRssMb = rssMb(serve.proc.pid!);
  const row = (figure: string, v: string, target: string, met: boolean | null) =>
    `| ${figure} | ${v} | ${target} | ${met === null ? "reported" : met ? "met" : "NOT MET"} |`;
  console.log("| Figure | Measured | Target | Status |\n|---|---|---|---|");
  if (out.createRunningFreshRuntimeS !== undefined)
    console.log(
      row(
        "Create → running, first instance, EMPTY runtime directory (install included)",
        `${out.createRunningFreshRuntimeS.toFixed(1)} s`,
        "—",
        null,
      ),
    );
  console.log(
    row("Create → running, first instance (warm runtime)", `${out.createRunningFirstS.toFixed(1)} s`, "≤ 20 s", out.createRunningFirstS <= 20),
  );
  console.log(row(`Create → running, instance ${N} (${N - 1} already running)`, `${out.createRunningLastS.toFixed(1)} s`, "—", null));
  console.log(
    row(`Create → running, median of ${N} (one after another)`, `${out.createRunningMedianS.toFixed(1)} s`, "≤ 20 s", out.createRunningMedianS <= 20),
  );
  console.log(
    row(
      "Deploy → ready (loaded by the gateway), median of 3 (max)",
      `${out.deployReadyMedianS.toFixed(2)} s (${out.deployReadyMaxS.toFixed(2)} s)`,
      "≤ 5 s",
      out.deployReadyMaxS <= 5,
    ),
  );
  console.log(
    row(
      "Instance agent RSS, median (max)",
      `${out.agentRssMedianMb.toFixed(1)} MB (${out.agentRssMaxMb.toFixed(1)} MB)`,
      "≤ 60 MB",
      out.agentRssMaxMb <= 60,
    ),
  );
  console.log(row("Gateway RSS (sandbox tree), median", `${out.gatewayRssMedianMb.toFixed(0)} MB`, "—", null));
  console.log(row(`Control plane RSS with ${N} running instances`, `${out.controlPlaneRssMb.toFixed(0)} MB`, "—", null));
  console.log(JSON.stringify({ bench: "instances", ...out }));
} finally {
  await serve.stop().catch(() => {});
  await destroyAll(dataDir);
  removeDir(join(dataDir));
}
