// The CLI as a newcomer uses it: a real `tropic serve` process on the embedded database,
// and bin/tropic commands against it, with their exit codes and one-line errors.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/tropic");

function startServe(dataDir: string): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ["serve", "--port", "0", "--data-dir", dataDir], {
      // The CLI records desired state; running real gateways is the instance tests' job.
      env: { ...process.env, TROPIC_LOG_LEVEL: "warn", TROPIC_INSTANCES: "off" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    proc.stderr!.on("data", (d) => {
      err += d;
      const m = /running at (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, stderr: () => err });
      }
    });
    proc.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

test("the CLI against a real `tropic serve`", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-cli-"));
  const server = await startServe(join(dir, "data"));
  t.after(async () => {
    server.proc.kill("SIGTERM");
    await new Promise((r) => server.proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  });
  const env = { ...process.env, XDG_CONFIG_HOME: join(dir, "config"), TROPIC_URL: server.url, TROPIC_TOKEN: "" };
  delete (env as Record<string, string | undefined>).TROPIC_TOKEN;
  const cli = (args: string[], input?: string) => {
    const r = spawnSync(BIN, args, { env, input, encoding: "utf8", timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  await t.test("serve announces the URL to open", () => {
    assert.match(server.stderr(), /Tropic is running at http:\/\/127\.0\.0\.1:\d+ \(embedded database/);
  });

  await t.test("--help, unknown commands and missing login say what to do", () => {
    assert.equal(cli(["--help"]).code, 0);
    const unknown = cli(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.err, 'tropic: unknown command "frobnicate"; run tropic --help\n');
    const anon = cli(["instances", "ls"]);
    assert.equal(anon.code, 1);
    assert.match(anon.err, /^tropic: not logged in: run `tropic login/);
  });

  await t.test("signup stores a token readable only by its owner", () => {
    const r = cli(["signup", "--email", "new@example.com", "--password-stdin"], "a long password\n");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Logged in to .* as new@example.com \(admin\)/);
    const mode = statSync(join(dir, "config/tropic/config.json")).mode & 0o777;
    assert.equal(mode, 0o600);
    assert.equal(statSync(join(dir, "config/tropic")).mode & 0o777, 0o700);
    assert.ok(!r.out.includes("trp_"), "the token is not printed");
  });

  await t.test("login with a wrong password fails with one line", () => {
    const r = cli(["login", "--email", "new@example.com", "--password-stdin"], "wrong password\n");
    assert.equal(r.code, 1);
    assert.equal(r.err, "tropic: email or password is wrong\n");
  });

  await t.test("instances: create, list (table and JSON), stop by name", () => {
    const c = cli(["instances", "create", "home"]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /Created instance home .*local\/local\/local: provisioning/);
    const table = cli(["instances", "ls"]);
    assert.match(table.out.split("\n")[0]!, /^ID\s+NAME\s+PROVIDER/);
    const list = JSON.parse(cli(["instances", "ls", "--json"]).out);
    assert.equal(list.length, 1);
    assert.equal(list[0].name, "home");
    const stop = cli(["instances", "stop", "home", "--json"]);
    assert.equal(JSON.parse(stop.out).desiredState, "stopped");
    const bad = cli(["instances", "create", "x", "--provider", "aws", "--region", "mars-1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^tropic: region "mars-1" is not available for aws; choose one of us-east-1/);
  });

  await t.test("templates, agents deploy with a policy, ls, stop", () => {
    assert.match(cli(["templates", "ls"]).out, /personal-assistant/);
    const pfile = join(dir, "policy.txt");
    writeFileSync(pfile, "ALLOW: browse any public website\nDENY: run sudo or elevated commands\n");
    const pol = cli(["policy", "set", "safe", pfile, "--json"]);
    assert.equal(pol.code, 0, pol.err);
    const policyId = JSON.parse(pol.out).id;
    const dep = cli(["agents", "deploy", "personal-assistant", "--instance", "home", "--policy", policyId, "--json"]);
    assert.equal(dep.code, 0, dep.err);
    const agent = JSON.parse(dep.out);
    assert.equal(agent.policyId, policyId);
    assert.match(cli(["agents", "ls"]).out, /personal-assistant\s+Personal Assistant/);
    assert.equal(JSON.parse(cli(["agents", "stop", agent.id, "--json"]).out).state, "stopped");
    const again = cli(["policy", "set", "safe", pfile, "--json"]);
    assert.equal(JSON.parse(again.out).version, 2, "setting an existing policy by name updates it");
  });

  await t.test("policy check compiles locally, with line errors", () => {
    const good = join(dir, "good.txt");
    writeFileSync(good, "ALLOW: browse any public website\nREQUIRE CONFIRM: send WhatsApp messages\n");
    const ok = cli(["policy", "check", good]);
    assert.equal(ok.code, 0, ok.err);
    const bad = join(dir, "bad.txt");
    writeFileSync(bad, "ALLOW: browse any public website\nDENY: frobnicate the quux\n");
    const r = cli(["policy", "check", bad]);
    assert.equal(r.code, 1);
    assert.match(r.out + r.err, /line 2/);
    const remote = cli(["policy", "set", "broken", bad]);
    assert.equal(remote.code, 1);
    assert.match(remote.err, /line 2/);
  });

  await t.test("settings get/set, with per-field errors", () => {
    const s = cli(["settings", "set", "blockBrowser=true", "dailyCreditCap=250", "phonePatterns=+65*,+44*", "--json"]);
    assert.equal(s.code, 0, s.err);
    const got = JSON.parse(cli(["settings", "get", "--json"]).out);
    assert.deepEqual([got.blockBrowser, got.dailyCreditCap, got.phonePatterns], [true, 250, ["+65*", "+44*"]]);
    const bad = cli(["settings", "set", "dailyCreditCap=-1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /dailyCreditCap/);
    assert.equal(cli(["settings", "set", "nonsense"]).code, 2);
  });

  await t.test("credentials from stdin; credits", () => {
    const c = cli(["credentials", "set", "ANTHROPIC_API_KEY"], "sk-ant-api03-abcdefghijklmnop-9876\n");
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /Stored ANTHROPIC_API_KEY \(…9876\), encrypted/);
    assert.ok(!cli(["credentials", "ls"]).out.includes("sk-ant"));
    const credits = cli(["credits"]).out;
    assert.match(credits, /^Balance: 0 credits/);
    assert.match(credits, /Burn rate: 0 credits\/hour\nRuns out: never at this rate/);
    const json = JSON.parse(cli(["credits", "--json"]).out);
    assert.deepEqual([json.balance, json.usage.burnRate, json.usage.runsOutAt], [0, 0, null]);
  });

  await t.test("an unreachable server is named", () => {
    const r = spawnSync(BIN, ["instances", "ls", "--url", "http://127.0.0.1:9"], { env, encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the Tropic server at http:\/\/127\.0\.0\.1:9/);
  });
});
