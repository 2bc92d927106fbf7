// Issue 14's model proxy overhead on a streamed response: time to first token and throughput, straight
// to a loopback scripted model versus through the control plane's model proxy (its internal listener,
// ModelProxy.listen(), with a real credential lookup, the limits check and a model_usage row per request).
//
// Three processes, so each one's CPU is its own: the scripted model (this file with `upstream`), the
// proxy (this file with `proxy`: PostgreSQL when it answers, else the embedded PGlite), and this one,
// the load generator. The scripted model answers every POST /v1/messages with Anthropic's SSE events:
// message_start, content_block_start, N content_block_delta events (one write each, as fast as it can),
// message_delta, message_stop.
//   a. sequential streams: time to first token (p50/p90/p99) and tokens/s of one stream;
//   b. 20 concurrent streams for a while: requests/s, tokens/s, time to first token under load, and the
//      CPU of the proxy and of the scripted model.
// Prints a table, then one JSON line (the last line of stdout) for scripts.
//   TROPIC_BENCH_MODEL_TOKENS (200), TROPIC_BENCH_MODEL_REQUESTS (300), TROPIC_BENCH_MODEL_SECONDS (10),
//   TROPIC_BENCH_MODEL_CONCURRENCY (20) override the sizes.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { freshPgDatabase, machineBusyPercent, median, pgReachable, processCpuMs, ROOT, sleep, table } from "./lib.ts";

const envInt = (name: string, dflt: number) => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : dflt;
};
const TOKENS = envInt("TROPIC_BENCH_MODEL_TOKENS", 200);
const REQUESTS = envInt("TROPIC_BENCH_MODEL_REQUESTS", 300);
const SECONDS = envInt("TROPIC_BENCH_MODEL_SECONDS", 10);
const CONCURRENCY = envInt("TROPIC_BENCH_MODEL_CONCURRENCY", 20);
const PLATFORM_KEY = "sk-ant-bench-platform-key";

// ---------------------------------------------------------------------------------------------
// Child: the scripted model.
async function runUpstream(tokens: number) {
  const server = createServer({ noDelay: true }, (req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url?.startsWith("/v1/messages") !== true) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
      const ev = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      ev("message_start", {
        type: "message_start",
        message: {
          id: "msg_bench",
          type: "message",
          role: "assistant",
          model: "claude-sonnet-4-6",
          content: [],
          usage: { input_tokens: 50, output_tokens: 1 },
        },
      });
      ev("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      for (let i = 0; i < tokens; i++)
        ev("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " token" } });
      ev("content_block_stop", { type: "content_block_stop", index: 0 });
      ev("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: tokens } });
      ev("message_stop", { type: "message_stop" });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  process.on("SIGTERM", () => process.exit(0));
}

// Child: the model proxy on its internal listener, with one user, one instance and its credential.
async function runProxy(upstream: string, dbUrl: string) {
  const { openDatabase } = await import("../server/src/db/connect.ts");
  const { migrate } = await import("../server/src/db/migrate.ts");
  const { issueModelKey } = await import("../server/src/models/keys.ts");
  const { ModelProxy } = await import("../server/src/models/proxy.ts");
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-bench-model-"));
  const database = await openDatabase({ ...(dbUrl ? { url: dbUrl } : {}), dataDir });
  await migrate(database.pool);
  const owner = crypto.randomUUID();
  const inst = crypto.randomUUID();
  await database.pool.query("INSERT INTO users (id, email) VALUES ($1, $2)", [owner, `bench-${owner.slice(0, 8)}@example.com`]);
  await database.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', 100000000, $2)", [
    owner,
    `grant:${owner}`,
  ]);
  await database.pool.query(
    `INSERT INTO instances (id, owner_id, name, provider, region, instance_type, desired_state, state, started_at, uses_platform_key)
     VALUES ($1, $2, 'bench', 'aws', 'us-east-1', 't3.micro', 'running', 'running', now(), true)`,
    [inst, owner],
  );
  const key = await issueModelKey(database.db, inst);
  const silent = { info() {}, warn() {}, error() {} };
  const proxy = new ModelProxy({ database, log: silent, upstream, platformKey: PLATFORM_KEY });
  const listener = await proxy.listen();
  process.stdout.write(`${JSON.stringify({ port: listener.port, key, kind: database.kind })}\n`);
  process.on("SIGTERM", () => {
    void (async () => {
      await proxy.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

// ---------------------------------------------------------------------------------------------
// The load generator.

function child(args: string[]): Promise<{ proc: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", join("bench", "model-proxy.bench.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ proc, info: JSON.parse(out.slice(0, nl)) });
    });
    proc.once("exit", (code) => reject(new Error(`bench child ${args[0]} exited with ${code}`)));
  });
}

interface StreamResult {
  ttftMs: number;
  totalMs: number;
  tokens: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const BODY = JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 1024, stream: true, messages: [{ role: "user", content: "Count." }] });

function stream(port: number, key: string | undefined): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/messages",
        agent,
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "content-length": Buffer.byteLength(BODY),
          ...(key ? { "x-api-key": key } : {}),
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`status ${res.statusCode}`));
          return;
        }
        let ttft = -1;
        let tokens = 0;
        let carry = "";
        res.on("data", (c: Buffer) => {
          const text = carry + c.toString("latin1");
          const n = text.split("event: content_block_delta").length - 1;
          if (n && ttft < 0) ttft = performance.now() - t0;
          tokens += n;
          carry = text.slice(-24);
        });
        res.on("end", () => resolve({ ttftMs: ttft, totalMs: performance.now() - t0, tokens }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;
const k = (n: number) => Math.round(n).toLocaleString("en");

async function sequential(port: number, key: string | undefined) {
  for (let i = 0; i < 30; i++) await stream(port, key); // warm-up
  const runs: StreamResult[] = [];
  for (let i = 0; i < REQUESTS; i++) runs.push(await stream(port, key));
  if (runs.some((r) => r.tokens !== TOKENS)) throw new Error("a stream lost tokens");
  const ttft = runs.map((r) => r.ttftMs);
  return {
    ttftP50: median(ttft),
    ttftP90: pct(ttft, 90),
    ttftP99: pct(ttft, 99),
    streamMs: median(runs.map((r) => r.totalMs)),
    tokensPerS: median(runs.map((r) => (r.tokens / r.totalMs) * 1000)),
  };
}

async function concurrent(port: number, key: string | undefined, pids: (number | undefined)[]) {
  const deadline = performance.now() + SECONDS * 1000;
  const cpu0 = pids.map(processCpuMs);
  const t0 = performance.now();
  const ttft: number[] = [];
  let requests = 0;
  let tokens = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        try {
          const r = await stream(port, key);
          requests++;
          tokens += r.tokens;
          ttft.push(r.ttftMs);
        } catch {
          errors++;
        }
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = pids.map((p, i) => {
    const a = cpu0[i];
    const b = processCpuMs(p);
    return a === undefined || b === undefined ? undefined : (100 * (b - a)) / (s * 1000);
  });
  return { reqPerS: requests / s, tokensPerS: tokens / s, ttftP50: median(ttft), ttftP99: pct(ttft, 99), errors, cpu };
}

async function main() {
  const usePg = await pgReachable();
  const pgDb = usePg ? await freshPgDatabase("tropic_bench_model") : undefined;
  const up = await child(["upstream", String(TOKENS)]);
  const upstreamPort = up.info.port as number;
  const px = await child(["proxy", `http://127.0.0.1:${upstreamPort}`, pgDb?.url ?? ""]);
  const proxyPort = px.info.port as number;
  const key = px.info.key as string;
  try {
    const busyBefore = await machineBusyPercent(1000);
    console.log(
      `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), ${busyBefore?.toFixed(0) ?? "?"}% busy before the run; ` +
        `database: ${px.info.kind}; ${TOKENS} tokens per stream, ${REQUESTS} sequential streams, ${CONCURRENCY} concurrent for ${SECONDS} s\n`,
    );
    const seqDirect = await sequential(upstreamPort, undefined);
    const seqProxy = await sequential(proxyPort, key);
    await sleep(200);
    const conDirect = await concurrent(upstreamPort, undefined, [up.proc.pid, px.proc.pid]);
    const conProxy = await concurrent(proxyPort, key, [up.proc.pid, px.proc.pid]);
    const busyAfter = await machineBusyPercent(1000);

    const rows = [
      [
        "time to first token, p50 (one stream at a time)",
        ms(seqDirect.ttftP50),
        ms(seqProxy.ttftP50),
        `+${ms(seqProxy.ttftP50 - seqDirect.ttftP50)}`,
      ],
      [
        "time to first token, p90 / p99",
        `${ms(seqDirect.ttftP90)} / ${ms(seqDirect.ttftP99)}`,
        `${ms(seqProxy.ttftP90)} / ${ms(seqProxy.ttftP99)}`,
        "",
      ],
      [`whole stream of ${TOKENS} tokens, p50`, ms(seqDirect.streamMs), ms(seqProxy.streamMs), `+${ms(seqProxy.streamMs - seqDirect.streamMs)}`],
      [
        "tokens/s of one stream, p50",
        k(seqDirect.tokensPerS),
        k(seqProxy.tokensPerS),
        `${((100 * seqProxy.tokensPerS) / seqDirect.tokensPerS).toFixed(0)}%`,
      ],
      [
        `${CONCURRENCY} concurrent streams: requests/s`,
        conDirect.reqPerS.toFixed(0),
        conProxy.reqPerS.toFixed(0),
        `${((100 * conProxy.reqPerS) / conDirect.reqPerS).toFixed(0)}%`,
      ],
      [`${CONCURRENCY} concurrent streams: tokens/s`, k(conDirect.tokensPerS), k(conProxy.tokensPerS), ""],
      [
        `${CONCURRENCY} concurrent: time to first token p50 / p99`,
        `${ms(conDirect.ttftP50)} / ${ms(conDirect.ttftP99)}`,
        `${ms(conProxy.ttftP50)} / ${ms(conProxy.ttftP99)}`,
        "",
      ],
      [
        `${CONCURRENCY} concurrent: CPU of scripted model / proxy (% of one core)`,
        `${conDirect.cpu[0]?.toFixed(0)}% / —`,
        `${conProxy.cpu[0]?.toFixed(0)}% / ${conProxy.cpu[1]?.toFixed(0)}%`,
        "",
      ],
      ["errors", String(conDirect.errors), String(conProxy.errors), ""],
    ];
    console.log(table(["figure", "direct", "through the proxy", "difference"], rows));
    console.log(`\nmachine busy after: ${busyAfter?.toFixed(0) ?? "?"}%`);
    console.log(
      JSON.stringify({
        tokens: TOKENS,
        database: px.info.kind,
        sequential: { direct: seqDirect, proxy: seqProxy },
        concurrent: { direct: conDirect, proxy: conProxy },
      }),
    );
  } finally {
    agent.destroy();
    up.proc.kill("SIGTERM");
    px.proc.kill("SIGTERM");
    await Promise.all([up.proc, px.proc].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
    await pgDb?.drop();
  }
}

const mode = process.argv[2];
if (mode === "upstream") await runUpstream(Number(process.argv[3]));
else if (mode === "proxy") await runProxy(process.argv[3]!, process.argv[4] ?? "");
else await main();
