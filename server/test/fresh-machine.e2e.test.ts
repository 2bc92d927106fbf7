// The README's path on a fresh machine, from nothing, on every CI run: an EMPTY data directory and an
// EMPTY runtime directory (never the shared ~/.cache runtime), `tropic serve` started the way `npm start`
// starts it (no TROPIC_* settings: ./.tropic in the working directory, a generated master key), and the
// CLI as a user types it. The working directory is a 0700 directory outside /tmp, as a user working as
// root in /root has it. Sign up, create an instance, see honest states on the way (the runtime install
// with progress), running; deploy two agents; both are loaded by the gateway (asked over its own
// protocol); a chat turn through Tropic's proxy answered by a scripted model (the only stand-in).
// ~3–4 minutes, most of it the runtime download.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GatewayClient } from "../../plugin/test/gateway-client.ts";
import { ScriptedModel } from "../../plugin/test/model-server.ts";
import { Api, destroyAll, gatewayInNamespace, ProxiedGatewayClient, ROOT, sleep, standInInternet } from "./instances-harness.ts";

const BIN = join(ROOT, "bin", "tropic");

test("a fresh machine: npm start, sign up, create, running, two agents loaded by the gateway, a chat turn", { timeout: 1_200_000 }, async (t) => {
  // /var/tmp: outside /tmp (which every sandbox replaces with its own), like /root.
  const base = mkdtempSync("/var/tmp/tropic-fresh-");
  const home = join(base, "home");
  mkdirSync(home, { mode: 0o700 });
  chmodSync(base, 0o700);
  const dataDir = join(home, ".tropic");
  const model = new ScriptedModel();
  await model.start();

  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `http://127.0.0.1:${port}`;
  // A newcomer's shell: this machine's environment (npm's registry settings included), nothing of ours.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("TROPIC_")) env[k] = v;
  let log = "";
  const serve: ChildProcess = spawn(BIN, ["serve", "--port", String(port)], { cwd: home, env, stdio: ["ignore", "pipe", "pipe"] });
  serve.stdout!.on("data", (d) => (log += d));
  serve.stderr!.on("data", (d) => (log += d));
  t.after(async () => {
    model.stop();
    serve.kill("SIGTERM");
    await Promise.race([new Promise((r) => serve.once("exit", r)), sleep(20_000)]);
    await destroyAll(dataDir);
    rmSync(base, { recursive: true, force: true });
  });
  const cliEnv = { ...env, XDG_CONFIG_HOME: join(home, ".config"), TROPIC_URL: url };
  const cli = (args: string[], input?: string) => {
    const r = spawnSync(BIN, args, { cwd: home, env: cliEnv, input, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `tropic ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const json = (args: string[]) => JSON.parse(cli([...args, "--json"]));

  for (const t0 = Date.now(); !/Tropic is running at/.test(log); await sleep(200)) {
    assert.ok(serve.exitCode === null, `tropic serve exited: ${log}`);
    assert.ok(Date.now() - t0 < 120_000, `tropic serve did not come up: ${log}`);
  }
  assert.ok(existsSync(join(dataDir, "master.key")), "./.tropic in the working directory, with a generated master key");
  assert.ok(!existsSync(join(dataDir, "runtime")) || readdirSync(join(dataDir, "runtime")).length === 0, "no runtime yet");

  cli(["signup", "--email", "new@example.com", "--password-stdin"], "a long enough password\n");
  // The same account's token, for the one setting the CLI has no flag for (a custom model endpoint).
  const api = new Api(url, { authorization: `Bearer ${JSON.parse(readFileSync(join(home, ".config", "tropic", "config.json"), "utf8")).token}` });
  // The agents answer with the scripted model (Settings → custom model endpoint).
  const set = await api.call("PATCH", "/api/v1/settings", {
    model: "custom",
    // (the model is on "the internet": the sandbox reaches nothing on this machine)
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));

  const t0 = Date.now();
  cli(["instances", "create", "home"]);
  // Every state on the way, with its reason, as `tropic instances ls` shows it.
  const seen: string[] = [];
  let inst: any;
  for (;;) {
    inst = json(["instances", "ls"]).find((i: { name: string }) => i.name === "home");
    const line = `${inst.state}: ${inst.stateReason ?? ""}`;
    if (seen.at(-1) !== line) seen.push(line);
    if (inst.state === "running") break;
    assert.notEqual(inst.state, "failed", `the instance failed: ${inst.stateReason}\n${seen.join("\n")}\n${log.slice(-3000)}`);
    assert.ok(Date.now() - t0 < 900_000, `not running after 15 minutes:\n${seen.join("\n")}`);
    await sleep(500);
  }
  t.diagnostic(`create → running on an empty runtime directory in ${((Date.now() - t0) / 1000).toFixed(1)} s; states:\n${seen.join("\n")}`);
  assert.ok(
    seen.some((s) => /installing the OpenClaw runtime/.test(s)),
    `the runtime install was shown with progress: ${seen.join(" | ")}`,
  );
  assert.ok(
    seen.some((s) => /^initializing: starting the gateway/.test(s)),
    `starting the gateway was shown: ${seen.join(" | ")}`,
  );
  const rt = readdirSync(join(dataDir, "runtime")).find((d) => d.startsWith("openclaw-"))!;
  assert.ok(
    !existsSync(join(dataDir, "runtime", rt, "node_modules", "openclaw", ".openclaw-lifecycle-pending")),
    "OpenClaw's lifecycle completed at install",
  );

  cli(["agents", "deploy", "personal-assistant", "--instance", "home", "--model", "scripted/scripted"]);
  cli(["agents", "deploy", "research-analyst", "--instance", "home", "--model", "scripted/scripted"]);
  const t1 = Date.now();
  let agents: { slug: string; state: string; stateReason: string | null }[] = [];
  for (;;) {
    agents = json(["agents", "ls"]);
    if (agents.length === 2 && agents.every((a) => a.state === "ready")) break;
    assert.ok(!agents.some((a) => a.state === "failed"), `an agent failed: ${JSON.stringify(agents)}`);
    assert.ok(Date.now() - t1 < 120_000, `agents not ready: ${JSON.stringify(agents)}`);
    await sleep(300);
  }
  t.diagnostic(`two deploys → ready (loaded by the gateway) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  // Asked over the gateway's own protocol: both agents run, and it applied the config on disk.
  const cfg = JSON.parse(readFileSync(join(dataDir, "instances", inst.id, "home", ".openclaw", "openclaw.json"), "utf8"));
  // (the gateway binds loopback in the instance's own network namespace: reached through a forward into it)
  const inside = await gatewayInNamespace(dataDir, inst.id);
  t.after(() => inside.close());
  const gw = new GatewayClient(inside.port, cfg.gateway.auth.token);
  await gw.connect();
  try {
    const list = await gw.call("agents.list", {});
    const ids = list.agents.map((a: { id: string }) => a.id);
    for (const a of agents) assert.ok(ids.includes(a.slug), `the gateway runs ${a.slug}: ${ids.join(", ")}`);
    const conf = await gw.call("config.get", {});
    assert.equal(conf.valid, true, JSON.stringify(conf.issues));
    assert.equal(conf.appliedConfigHash, conf.configRevisionHash, "the gateway runs the config on disk");
  } finally {
    gw.close();
  }

  // A chat turn, the way the dashboard's Chat page makes it: through Tropic's proxy.
  const sessionKey = `agent:${agents[0]!.slug}:main`;
  const client = new ProxiedGatewayClient(`${url.replace(/^http/, "ws")}/i/${inst.id}/`, api.auth, cfg.gateway.auth.token);
  await client.connect();
  try {
    const sent = await client.call("chat.send", { sessionKey, message: "SCENARIO:hello please answer.", idempotencyKey: crypto.randomUUID() });
    const done = await client.waitFor((f) => f.event === "chat" && f.payload?.runId === sent.runId && f.payload?.state === "final", 120_000);
    assert.match(JSON.stringify(done.payload), /Scenario hello complete/);
    // OpenClaw's own "Connect an AI provider" cannot keep a key inside the gateway: keys are Tropic's.
    await assert.rejects(
      client.call("models.authSetApiKey", { provider: "anthropic", agentId: agents[0]!.slug, apiKey: "sk-ant-api03-notstoredanywhere" }),
      /unknown method: Tropic manages this instance's model keys: add yours in Tropic's Settings → Credentials/,
    );
    // …nor can its settings pages rewrite openclaw.json, which Tropic owns.
    const conf = await client.call("config.get", {});
    await assert.rejects(
      client.call("config.patch", { raw: '{"ui":{"seamColor":"#ff0000"}}', baseHash: conf.hash }),
      /externally managed|immutable|OPENCLAW_CONFIG_READONLY/i,
    );
  } finally {
    client.close();
  }
  const home2 = join(dataDir, "instances", inst.id, "home");
  assert.equal(spawnSync("grep", ["-rl", "notstoredanywhere", home2]).stdout.length, 0, "the key is nowhere in the instance");
  const gatewayLog = readFileSync(join(dataDir, "instances", inst.id, "gateway.log"), "utf8");
  assert.doesNotMatch(gatewayLog, /lifecycle is incomplete|EROFS|EACCES|config reload skipped/, "no crash loop, no refused config");
});
