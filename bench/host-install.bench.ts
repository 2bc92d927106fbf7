// Your own machine as an instance (issue 16): the one-liner on the stand-in for a user's Linux box, a
// booted Debian machine (systemd as PID 1, server/test/booted-host.ts) on a private veth that reaches
// only this control plane. Measures the host bundle (build time, size), the one-liner as a user with
// sudo types it (bundle download, sha256, extraction, enrolment, users, services) and one-liner →
// instance `running`, then the instance agent's memory on the host once settled (median of samples:
// RSS, and PSS, which shares the Node binary's pages with the gateway and the worker). Each run is a
// fresh instance on the same host; deleting it uninstalls the host before the next.
//   node --import tsx bench/host-install.bench.ts      (TROPIC_BENCH_HOST_RUNS=3 runs by default)
// Skips (exit 0, with the reason) where a booted host cannot run: not root, or debootstrap,
// systemd-container, iproute2 or nftables missing. The Debian root filesystem is built once and cached
// (~/.cache/tropic/hosts, 3–5 min the first time).
import { loadavg } from "node:os";
import { freePort } from "@tropic/providers";
import { hostBundles } from "../server/src/hosts/bundle.ts";
import { bootedHostSkip, bootHost, type BootedHost } from "../server/test/booted-host.ts";
import { Api, destroyAll, freshDataDir, inProcessServer, removeDir, sleep } from "../server/test/instances-harness.ts";
import { median } from "./lib.ts";

const skip = bootedHostSkip();
if (skip) {
  console.log(
    `host-install: SKIPPED: ${skip}. The stand-in host is a Debian machine booted with systemd-nspawn (needs root and debootstrap systemd-container iproute2 nftables).`,
  );
  process.exit(0);
}

const RUNS = Number(process.env.TROPIC_BENCH_HOST_RUNS ?? 3);
const SETTLE_MS = 30_000;
const SAMPLES = 10;

/** VmRSS and Pss (smaps_rollup) of a process on the host, in MB. */
async function memOf(h: BootedHost, pidExpr: string): Promise<{ rss: number; pss: number } | null> {
  const r = await h.exec(`p=${pidExpr}; [ -n "$p" ] && [ "$p" != 0 ] && grep -E '^VmRSS' /proc/$p/status && grep -E '^Pss:' /proc/$p/smaps_rollup`);
  const rss = /VmRSS:\s+(\d+)/.exec(r.stdout)?.[1];
  const pss = /Pss:\s+(\d+)/.exec(r.stdout)?.[1];
  return rss && pss ? { rss: Number(rss) / 1024, pss: Number(pss) / 1024 } : null;
}

const AGENT_PID = "$(systemctl show -p MainPID --value tropic-agent.service)";
const WORKER_PID = `$(ps -o pid= --ppid ${AGENT_PID} | head -n1 | tr -d ' ')`;

const out: Record<string, number> = {};
// The machine is shared: its load around the runs, so a slow figure can be read for what it is.
const loads: number[] = [loadavg()[0]!];
const h = await bootHost({ name: "laptop" });
const dataDir = freshDataDir();
let server: Awaited<ReturnType<typeof inProcessServer>> | null = null;
try {
  const port = await freePort(h.hostAddress);
  const publicUrl = `http://${h.hostAddress}:${port}`;
  server = await inProcessServer(dataDir, 2000, { host: h.hostAddress, port, publicUrl });

  // The bundle: `tropic serve` builds it in the background at start (TROPIC_HOST_BUNDLES=warm); timed here.
  const tb = performance.now();
  const manifest = await hostBundles(dataDir).manifest();
  out.bundleBuildS = (performance.now() - tb) / 1000;
  out.bundleMb = manifest.platforms["linux-x64"]!.bytes / 1e6;
  process.stderr.write(`bundle ${manifest.platforms["linux-x64"]!.file}: ${out.bundleMb.toFixed(1)} MB, built in ${out.bundleBuildS.toFixed(1)} s\n`);

  await h.exec(
    [
      "useradd -m -s /bin/sh alice",
      "echo 'alice ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/alice",
      "mkdir -p /home/alice/.openclaw/workspace",
      "echo 'I am Alice own agent' > /home/alice/.openclaw/workspace/SOUL.md",
      "chown -R alice:alice /home/alice/.openclaw",
    ].join(" && "),
  );
  const api = await new Api(server.url).as(`bench-host-${Date.now()}@example.com`);
  const oneLiner: number[] = [];
  const toRunning: number[] = [];
  const agentRss: number[] = [];
  const agentPss: number[] = [];
  const workerRss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c = (await api.call("POST", "/api/v1/instances/connect", { name: `laptop-${i}` })).json;
    const id = c.instance.id as string;
    const t0 = performance.now();
    const r = await h.exec(c.enrolment.command, { user: "alice", timeoutMs: 15 * 60_000 });
    if (r.code !== 0) throw new Error(`the one-liner failed (${r.code}):\n${r.stdout}${r.stderr}`.replaceAll(c.enrolment.token, "<token>"));
    oneLiner.push((performance.now() - t0) / 1000);
    await api.until(`/api/v1/instances/${id}`, (j) => j?.state === "running", 5 * 60_000, `run ${i} running`);
    toRunning.push((performance.now() - t0) / 1000);
    // Memory once settled: the gateway up, the first status beats and gate checks done.
    await sleep(SETTLE_MS);
    const a: number[] = [];
    const p: number[] = [];
    const w: number[] = [];
    for (let s = 0; s < SAMPLES; s++) {
      const m = await memOf(h, AGENT_PID);
      if (m) {
        a.push(m.rss);
        p.push(m.pss);
      }
      const wm = await memOf(h, WORKER_PID);
      if (wm) w.push(wm.rss);
      await sleep(2000);
    }
    agentRss.push(median(a));
    agentPss.push(median(p));
    if (w.length) workerRss.push(median(w));
    process.stderr.write(
      `run ${i + 1}/${RUNS}: one-liner ${oneLiner[i]!.toFixed(1)} s, running after ${toRunning[i]!.toFixed(1)} s; agent RSS ${median(a).toFixed(1)} MB (PSS ${median(p).toFixed(1)}), worker RSS ${w.length ? median(w).toFixed(1) : "?"} MB\n`,
    );
    loads.push(loadavg()[0]!);
    // Delete: the agent uninstalls the host (services, users, files, bundle) before the next run.
    await api.call("DELETE", `/api/v1/instances/${id}`);
    const t1 = Date.now();
    for (;;) {
      const left = await h.exec(
        "ls /etc/systemd/system/tropic-agent.service /var/lib/tropic /opt/tropic 2>/dev/null; getent passwd tropic-gw tropic-agent; true",
      );
      if (!left.stdout.trim()) break;
      if (Date.now() - t1 > 180_000) throw new Error(`run ${i}: the host was not uninstalled:\n${left.stdout}`);
      await sleep(1000);
    }
  }
  loads.push(loadavg()[0]!);
  out.loadAvgMax = Math.max(...loads);
  out.runs = RUNS;
  out.oneLinerMedianS = median(oneLiner);
  out.oneLinerMaxS = Math.max(...oneLiner);
  out.toRunningMedianS = median(toRunning);
  out.toRunningMaxS = Math.max(...toRunning);
  out.agentRssMedianMb = median(agentRss);
  out.agentRssMaxMb = Math.max(...agentRss);
  out.agentPssMedianMb = median(agentPss);
  if (workerRss.length) out.workerRssMedianMb = median(workerRss);

  const row = (figure: string, v: string, target: string, met: boolean | null) =>
    `| ${figure} | ${v} | ${target} | ${met === null ? "reported" : met ? "met" : "NOT MET"} |`;
  console.log("| Figure | Measured | Target | Status |\n|---|---|---|---|");
  console.log(row("Host bundle linux-x64 (compressed)", `${out.bundleMb.toFixed(1)} MB`, "—", null));
  console.log(row("Host bundle build (tropic serve: in the background at start)", `${out.bundleBuildS.toFixed(1)} s`, "—", null));
  console.log(
    row(
      `One-liner (download, sha256, enrol, services), median of ${RUNS} (max)`,
      `${out.oneLinerMedianS.toFixed(1)} s (${out.oneLinerMaxS.toFixed(1)} s)`,
      "—",
      null,
    ),
  );
  console.log(
    row(
      `One-liner → running, bundle download included, median of ${RUNS} (max)`,
      `${out.toRunningMedianS.toFixed(1)} s (${out.toRunningMaxS.toFixed(1)} s)`,
      "—",
      null,
    ),
  );
  console.log(
    row(
      `Instance agent RSS on the host, settled, median of ${RUNS} runs × ${SAMPLES} samples (max run)`,
      `${out.agentRssMedianMb.toFixed(1)} MB (${out.agentRssMaxMb.toFixed(1)} MB)`,
      "≤ 60 MB",
      out.agentRssMaxMb <= 60,
    ),
  );
  console.log(
    row("Instance agent PSS on the host (Node's pages shared with the gateway and worker split)", `${out.agentPssMedianMb.toFixed(1)} MB`, "—", null),
  );
  if (out.workerRssMedianMb !== undefined)
    console.log(row("The agent's file worker RSS (agent user), median", `${out.workerRssMedianMb.toFixed(1)} MB`, "—", null));
  console.log(row("Machine load (1-minute average, highest seen around the runs; 2 cores)", out.loadAvgMax.toFixed(1), "—", null));
  console.log(JSON.stringify({ bench: "host-install", ...out }));
} finally {
  await server?.close().catch(() => {});
  await h.cleanup();
  await destroyAll(dataDir);
  removeDir(dataDir);
}
