// End-to-end harness: a REAL OpenClaw gateway (the pinned runtime from @tropic/runtime, installed
// into a shared cache on first use) with this plugin loaded, its own HOME and state dir in a temp
// directory, loopback only, token auth, a random free port; agents use a scripted OpenAI-compatible
// model server on 127.0.0.1 (the only mocked piece). Turns go through the gateway's `agent` RPC
// (channel "webchat", an approval-capable surface) so tools run inside the gateway process, next to
// the plugin. Every process started here is in its own process group and is killed on stop, on
// test failure and on exit.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { installRuntime, progressPrinter, testRuntimeDir } from "@tropic/runtime";
import { preparedPluginDir } from "../src/bundle.ts";
import { GatewayClient } from "./gateway-client.ts";
import { ScriptedModel } from "./model-server.ts";

/** the plugin's source directory (OpenClaw can link it too, but then transforms its TypeScript at load) */
export const PLUGIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const PLUGIN_ID = "tropic-gate";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) killGroup(c, "SIGKILL");
});

function killGroup(c: ChildProcess, sig: NodeJS.Signals) {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, sig);
  } catch {
    try {
      c.kill(sig);
    } catch {}
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface InstanceOptions {
  pluginConfig?: Record<string, unknown> | null;
  /** false: start the gateway without the plugin (benchmark baseline) */
  withPlugin?: boolean;
  /** the directory to link as the plugin; default: the prepared plain-JS bundle (`preparedPluginDir()`).
   * PLUGIN_DIR links the TypeScript sources as they are (OpenClaw transforms them at load). */
  pluginDir?: string;
  model?: ScriptedModel;
}

export class Instance {
  readonly root = mkdtempSync(join(tmpdir(), "tropic-e2e-"));
  readonly home = join(this.root, "home");
  readonly stateDir = join(this.home, ".openclaw");
  readonly workspace = join(this.stateDir, "workspace");
  readonly configPath = join(this.stateDir, "openclaw.json");
  readonly auditPath = join(this.stateDir, ".sondera", "audit.log");
  readonly logPath = join(this.root, "gateway.log");
  readonly token = `tok-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  port = 0;
  model: ScriptedModel;
  client: GatewayClient | null = null;
  private proc: ChildProcess | null = null;
  private runtime: Awaited<ReturnType<typeof installRuntime>> | null = null;
  private ownModel: boolean;
  /** the directory linked as the plugin: the prepared plain-JS bundle (plugin/src/bundle.ts) */
  pluginDir = "";

  constructor(private opts: InstanceOptions = {}) {
    this.model = opts.model ?? new ScriptedModel();
    this.ownModel = !opts.model;
    mkdirSync(this.workspace, { recursive: true });
  }

  async start() {
    this.runtime ??= await installRuntime({ dir: testRuntimeDir(), onProgress: progressPrinter(process.stderr) });
    if (this.ownModel && !this.model.port) await this.model.start();
    if (this.opts.withPlugin !== false) this.pluginDir ||= this.opts.pluginDir ?? (await preparedPluginDir());
    if (!existsSync(this.configPath)) this.writeConfig(this.baseConfig());
    await this.startGateway();
  }

  baseConfig(): Record<string, any> {
    const withPlugin = this.opts.withPlugin !== false;
    if (withPlugin && !this.pluginDir) throw new Error("baseConfig() before start(): the plugin bundle is not prepared yet");
    return {
      gateway: { mode: "local", bind: "loopback", auth: { mode: "token", token: this.token } },
      models: {
        mode: "replace",
        providers: {
          scripted: {
            baseUrl: `http://127.0.0.1:${this.model.port}/v1`,
            apiKey: "sk-scripted-test",
            api: "openai-completions",
            models: [
              {
                id: "scripted",
                name: "Scripted",
                input: ["text"],
                contextWindow: 128000,
                maxTokens: 4096,
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              },
            ],
          },
        },
      },
      agents: { defaults: { model: { primary: "scripted/scripted" }, workspace: this.workspace } },
      ...(withPlugin
        ? {
            plugins: {
              load: { paths: [this.pluginDir] },
              entries: { [PLUGIN_ID]: { enabled: true, config: { gatewayToken: this.token, ...(this.opts.pluginConfig ?? {}) } } },
            },
          }
        : {}),
    };
  }

  readConfig(): Record<string, any> {
    return JSON.parse(readFileSync(this.configPath, "utf8"));
  }

  writeConfig(cfg: Record<string, unknown>) {
    mkdirSync(this.stateDir, { recursive: true });
    const tmp = `${this.configPath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.configPath);
  }

  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** Replaces the plugin's config in openclaw.json (OpenClaw hot-reloads it) and waits until the
   * running gateway has applied it (its reload log line) and the plugin has re-registered. */
  async setPluginConfig(config: Record<string, unknown>, timeoutMs = 60_000) {
    const before = count(this.log(), /config hot reload applied|\[tropic-gate\]/g);
    const cfg = this.readConfig();
    cfg.plugins.entries[PLUGIN_ID].config = { gatewayToken: this.token, ...config };
    this.writeConfig(cfg);
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const l = this.log();
      if (/config hot reload applied/.test(l.slice(-20000)) && count(l, /config hot reload applied|\[tropic-gate\]/g) >= before + 2) return;
      await sleep(250);
    }
    throw new Error(`the gateway did not apply the plugin config within ${timeoutMs} ms:\n${this.log().slice(-3000)}`);
  }

  private async startGateway() {
    const rt = this.runtime!;
    this.port = await freePort();
    const out = openSync(this.logPath, "a");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LANG: process.env.LANG ?? "C.UTF-8",
      HOME: this.home,
      OPENCLAW_STATE_DIR: this.stateDir,
      TMPDIR: join(this.root, "tmp"),
      NO_COLOR: "1",
    };
    mkdirSync(join(this.root, "tmp"), { recursive: true });
    const args = [
      rt.openclaw,
      "gateway",
      "run",
      "--allow-unconfigured",
      "--port",
      String(this.port),
      "--bind",
      "loopback",
      "--auth",
      "token",
      "--token",
      this.token,
    ];
    this.proc = spawn(rt.node, args, { cwd: this.root, env, detached: true, stdio: ["ignore", out, out] });
    closeSync(out);
    live.add(this.proc);
    const p = this.proc;
    p.once("exit", () => live.delete(p));
    const t0 = Date.now();
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null)
        throw new Error(`the gateway exited (${p.exitCode ?? p.signalCode}):\n${this.log().slice(-4000)}`);
      if (Date.now() - t0 > 120_000) throw new Error(`the gateway was not ready within 120 s:\n${this.log().slice(-4000)}`);
      const ready = await fetch(`http://127.0.0.1:${this.port}/readyz`).then(
        (r) => r.json().then((j: any) => j?.ready === true),
        () => false,
      );
      if (ready) break;
      await sleep(300);
    }
    this.client = new GatewayClient(this.port, this.token);
    await this.client.connect();
  }

  pid() {
    return this.proc?.pid;
  }

  async stopGateway() {
    this.client?.close();
    this.client = null;
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    killGroup(p, "SIGTERM");
    const t = setTimeout(() => killGroup(p, "SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
    killGroup(p, "SIGKILL"); // anything left in the group
  }

  async restart() {
    await this.stopGateway();
    await this.startGateway();
  }

  /** One agent turn through the running gateway; resolves with the final RPC result. */
  async turn(scenario: string, opts: { agentId?: string; timeoutMs?: number } = {}) {
    const id = `${scenario}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const res = await this.client!.call(
      "agent",
      {
        message: `SCENARIO:${scenario} please go ahead.`,
        agentId: opts.agentId ?? "main",
        sessionId: id,
        channel: "webchat",
        idempotencyKey: id,
      },
      { final: true, timeoutMs: opts.timeoutMs ?? 120_000 },
    );
    return { sessionId: id, sessionKey: `agent:${opts.agentId ?? "main"}:explicit:${id}`, result: res };
  }

  /** The session's stored transcript, as the gateway serves it to its UIs. */
  async transcript(sessionKey: string): Promise<string> {
    const h = await this.client!.call("chat.history", { sessionKey, limit: 200 });
    return JSON.stringify(h);
  }

  audit(): any[] {
    if (!existsSync(this.auditPath)) return [];
    return readFileSync(this.auditPath, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  /** Audit lines are buffered by the plugin (flushed within ~25 ms); wait for a matching one. */
  async auditLine(match: (e: any) => boolean, timeoutMs = 5000): Promise<any> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.audit().find(match);
      if (hit) return hit;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `no matching audit line; log:\n${this.audit()
            .map((e) => JSON.stringify(e))
            .join("\n")}`,
        );
      await sleep(100);
    }
  }

  /** Peak RSS of the gateway process tree (kB), from /proc. */
  rssKb(): number {
    const pid = this.proc?.pid;
    if (!pid) return 0;
    try {
      const s = readFileSync(`/proc/${pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  async stop() {
    await this.stopGateway();
    if (this.ownModel) await this.model.stop();
    if (!process.env.TROPIC_KEEP_E2E) rmSync(this.root, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
