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
  /** Commands that change nothing, at once (each bin/tropic start costs a second). */
  const cliAll = (all: string[][]) =>
    Promise.all(
      all.map(
        (args) =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const p = spawn(BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            p.stdout!.on("data", (d) => (out += d));
            p.stderr!.on("data", (d) => (err += d));
            p.on("close", (code) => resolve({ code, out, err }));
          }),
      ),
    );

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

  const instanceNames = () => JSON.parse(cli(["instances", "ls", "--json"]).out).map((i: { name: string }) => i.name);
  const policyNames = () => JSON.parse(cli(["policy", "ls", "--json"]).out).map((p: { name: string }) => p.name);

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
    // Before leaving `tropic serve`: every instance of the account, in one command.
    assert.equal(cli(["instances", "create", "second"]).code, 0);
    const all = cli(["instances", "stop", "--all"]);
    assert.equal(all.code, 0, all.err);
    assert.equal(all.out, "Instance second: desired stopped, now provisioning.\n", "only what was not stopped yet");
    assert.ok(JSON.parse(cli(["instances", "ls", "--json"]).out).every((i: { desiredState: string }) => i.desiredState === "stopped"));
    assert.match(cli(["instances", "stop", "home", "--all"]).err, /give INSTANCE or --all, not both/);
    assert.match(cli(["instances", "stop"]).err, /INSTANCE is missing: .* or --all/);
    assert.equal(cli(["instances", "rm", "second"]).code, 0);
    const bad = cli(["instances", "create", "x", "--provider", "aws", "--region", "mars-1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^tropic: region "mars-1" is not available for aws; choose one of us-east-1/);
  });

  await t.test("instances: a second one named home is refused, in the CLI's words; the name is free once deleted", async () => {
    const [dup, long, missing] = await cliAll([
      ["instances", "create", "home"],
      ["instances", "create", "x".repeat(81)],
      ["instances", "start", "nowhere"],
    ]);
    assert.deepEqual([dup!.code, dup!.err], [1, 'tropic: an instance named "home" already exists (tropic instances ls)\n']);
    assert.deepEqual([long!.code, long!.err], [1, "tropic: NAME must be at most 80 characters\n"]);
    assert.deepEqual([missing!.code, missing!.err], [1, 'tropic: no instance named "nowhere" (tropic instances ls)\n']);
    assert.deepEqual(instanceNames(), ["home"], "nothing was created");
    assert.equal(cli(["instances", "create", "scratch"]).code, 0);
    const rm = cli(["instances", "rm", "scratch"]);
    assert.equal(rm.code, 0, rm.err);
    assert.match(rm.out, /^Instance scratch \(.+\) is being deleted\.$/m);
    assert.equal(cli(["instances", "create", "scratch", "--provider=local"]).code, 0, "a deleted instance's name can be used again");
    assert.equal(cli(["instances", "rm", "scratch"]).code, 0);
  });

  await t.test("instances: aws without AWS configured says what to set, and nothing is created", async () => {
    const r = cli(["instances", "create", "cloud", "--provider", "aws", "--region", "eu-west-2", "--type", "t3.small"]);
    assert.deepEqual(
      [r.code, r.err],
      [
        1,
        "tropic: Cloud (AWS) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE, TROPIC_AWS_PROXY_CIDRS, TROPIC_PUBLIC_URL (see docs/aws.md)\n",
      ],
    );
    assert.deepEqual(instanceNames(), ["home"]);
    const p = cli(["instances", "providers"]);
    assert.equal(p.code, 0, p.err);
    assert.match(
      p.out,
      /^aws \(AWS EC2\): not available\. Cloud \(AWS\) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE/m,
    );
    assert.match(p.out, /^ {2}t3\.micro \(default\): 2 vCPU, 1 GB, 5 credits\/h$/m);
    assert.match(p.out, /^ {2}t3\.medium: 2 vCPU, 4 GB, 30 credits\/h$/m);
    assert.match(p.out, /^local \(.*\): available$/m);
  });

  await t.test("instances connect: your own machine's one-liner (and --json); enrolment makes a new one", () => {
    const c = cli(["instances", "connect", "my laptop"]);
    assert.equal(c.code, 0, c.err);
    const line = new RegExp(`^  curl -fsSL ${server.url.replace(/[.]/g, "\\.")}/install/host\\.sh \\| sh -s -- --token tet_[A-Za-z0-9_-]{43}$`, "m");
    assert.match(c.out, line);
    assert.match(c.out, /^Created instance my laptop \(.+\) for your machine\.$/m);
    assert.match(c.out, /tropic instances enrolment 'my laptop'$/m);
    const j = JSON.parse(cli(["instances", "enrolment", "my laptop", "--json"]).out);
    assert.equal(j.instance.provider, "byo");
    assert.match(j.enrolment.command, /--token tet_/);
    assert.ok(Date.parse(j.enrolment.expiresAt) > Date.now());
    assert.ok(!c.out.includes(j.enrolment.token), "a new token, not the first one");
    assert.deepEqual(
      [cli(["instances", "connect", "my laptop"]).err],
      ['tropic: an instance named "my laptop" already exists (tropic instances ls)\n'],
    );
    const local = cli(["instances", "enrolment", "home"]);
    assert.equal(local.code, 1);
    assert.match(local.err, /only an instance of your own machine \(byo\) enrols with a one-liner/);
    assert.equal(cli(["instances", "rm", "my laptop"]).code, 0);
  });

  await t.test("flags: an unknown or empty one names the command and its --help, on one line", async () => {
    // (Every other parse error is in args.test.ts.)
    const [unknown, noValue, help] = await cliAll([
      ["policy", "set", "safe", "f.txt", "--foo"],
      ["policy", "set", "safe", "f.txt", "--agent"],
      ["policy", "set", "--help"],
    ]);
    assert.deepEqual([unknown!.code, unknown!.err], [2, 'tropic: unknown option --foo for "tropic policy set" (see tropic policy set --help)\n']);
    assert.deepEqual([noValue!.code, noValue!.err], [2, "tropic: --agent needs a value: --agent AGENT (see tropic policy set --help)\n"]);
    assert.equal(help!.code, 0);
    assert.match(help!.out, /^usage: tropic policy set NAME FILE \[--agent AGENT/);
  });

  const pfile = join(dir, "policy.txt");
  writeFileSync(pfile, "ALLOW: browse any public website\nDENY: run sudo or elevated commands\n");

  await t.test("templates, agents deploy with a policy, ls, stop", () => {
    assert.match(cli(["templates", "ls"]).out, /personal-assistant/);
    const pol = cli(["policy", "set", "safe", pfile, "--json"]);
    assert.equal(pol.code, 0, pol.err);
    const policyId = JSON.parse(pol.out).id;
    const dep = cli(["agents", "deploy", "personal-assistant", "--instance", "home", "--policy", policyId, "--json"]);
    assert.equal(dep.code, 0, dep.err);
    const agent = JSON.parse(dep.out);
    assert.equal(agent.policyId, policyId);
    assert.match(cli(["agents", "ls"]).out, /personal-assistant\s+Personal Assistant\s+personal-assistant\s+\S+\s+provisioning\s+home/);
    assert.equal(JSON.parse(cli(["agents", "stop", agent.id, "--json"]).out).state, "stopped");
    const again = cli(["policy", "set", "safe", pfile, "--json"]);
    assert.equal(JSON.parse(again.out).version, 2, "setting an existing policy by name updates it");
  });

  await t.test("agents deploy: every name is looked up first, in the CLI's words; names work where ids do", async () => {
    const agentsBefore = cli(["agents", "ls", "--json"]).out;
    const cases: [string[], string][] = [
      [["agents", "deploy", "x", "--instance", "home"], 'tropic: TEMPLATE: no template named "x" (tropic templates ls)\n'],
      [["agents", "deploy", "research-analyst", "--instance", "nowhere"], 'tropic: --instance: no instance named "nowhere" (tropic instances ls)\n'],
      [
        ["agents", "deploy", "research-analyst", "--instance", "home", "--policy", "nope"],
        'tropic: --policy: no policy named "nope" (tropic policy ls)\n',
      ],
      [
        ["agents", "deploy", "research-analyst", "--instance", "home", "--model", "gpt"],
        'tropic: --model must be a preset model id or "<provider>/<model id>"\n',
      ],
      [
        ["agents", "deploy", "personal-assistant", "--instance", "home"],
        'tropic: an agent "personal-assistant" already exists on instance home; choose another --name or --slug (tropic agents ls --instance home)\n',
      ],
    ];
    const results = await cliAll(cases.map(([args]) => args));
    for (const [i, [args, err]] of cases.entries()) assert.deepEqual([results[i]!.code, results[i]!.err], [1, err], args.join(" "));
    assert.equal(cli(["agents", "ls", "--json"]).out, agentsBefore, "no agent was deployed");
    // By name: the template's name in any case, the instance's and the policy's names.
    const dep = cli(["agents", "deploy", "Research Analyst", "--instance", "home", "--policy", "safe", "--json"]);
    assert.equal(dep.code, 0, dep.err);
    const agent = JSON.parse(dep.out);
    const safe = JSON.parse(cli(["policy", "ls", "--json"]).out).find((p: { name: string }) => p.name === "safe");
    assert.deepEqual([agent.templateId, agent.policyId], ["research-analyst", safe.id]);
    assert.equal(JSON.parse(cli(["agents", "stop", "Research Analyst", "--json"]).out).state, "stopped", "an agent by name");
    assert.equal(cli(["agents", "rm", "research-analyst", "--instance", "home"]).code, 0, "an agent by slug");
    assert.equal(cli(["agents", "ls", "--json"]).out, agentsBefore);
  });

  await t.test("policy set with a bad --agent saves nothing (nor on a retry under another name)", async () => {
    const before = policyNames();
    const [first, retry, unread] = await cliAll([
      ["policy", "set", "strict", pfile, "--agent", "nobody"],
      ["policy", "set", "strict-2", pfile, "--agent", "00000000-0000-4000-8000-000000000000"],
      ["policy", "set", "strict", join(dir, "nope.txt"), "--agent", "personal-assistant"],
    ]);
    assert.deepEqual([first!.code, first!.err], [1, 'tropic: --agent: no agent named "nobody" (tropic agents ls)\n']);
    assert.deepEqual([retry!.code, retry!.err], [1, 'tropic: --agent: no agent with id "00000000-0000-4000-8000-000000000000" (tropic agents ls)\n']);
    assert.deepEqual([unread!.code, unread!.err], [2, `tropic: cannot read FILE ${join(dir, "nope.txt")}: no such file\n`]);
    assert.deepEqual(policyNames(), before, "no policy was saved");
    // A good --agent (by slug): saved and attached in one go.
    const ok = cli(["policy", "set", "strict", pfile, "--agent", "personal-assistant", "--json"]);
    assert.equal(ok.code, 0, ok.err);
    const agent = JSON.parse(cli(["agents", "ls", "--json"]).out).find((a: { slug: string }) => a.slug === "personal-assistant");
    assert.equal(agent.policyId, JSON.parse(ok.out).id);
    assert.match(cli(["policy", "rm", "strict"]).out, /^Deleted policy strict\.$/m);
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
    // Several errors: one per line, as `policy check` prints them; nothing saved.
    const worse = join(dir, "worse.txt");
    writeFileSync(worse, "ALLOW: browse any public website\nDENY: frobnicate the quux\nREQUIRE CONFIRM: send whatsap messages\n");
    const checked = cli(["policy", "check", worse]);
    const set = cli(["policy", "set", "broken", worse]);
    assert.equal(set.code, 1);
    const lines = set.err.trimEnd().split("\n");
    assert.equal(lines[0], `tropic: ${worse} has 2 errors; policy broken was not saved:`);
    assert.deepEqual(lines.slice(1), checked.err.trimEnd().split("\n"), "the same lines as policy check");
    assert.match(lines[1]!, /^line 2: "frobnicate the quux"/);
    assert.ok(lines.some((l) => /^line 3: "send whatsap messages"/.test(l)));
    assert.ok(!policyNames().includes("broken"));
  });

  await t.test("settings get/set, with per-field errors", async () => {
    const get = () => JSON.parse(cli(["settings", "get", "--json"]).out);
    // Patterns alone while the phone mode is unrestricted would change nothing: refused, saying what to add.
    const alone = cli(["settings", "set", "blockBrowser=true", "phonePatterns=+65*,+44*"]);
    assert.equal(alone.code, 2);
    assert.match(alone.err, /^tropic: phonePatterns has no effect while phoneMode is unrestricted: set phoneMode=allowlist\|blocklist too/);
    const unchanged = get();
    assert.deepEqual([unchanged.blockBrowser, unchanged.phonePatterns], [false, []], "nothing was changed");
    // The README's example.
    const s = cli(["settings", "set", "blockBrowser=true", "dailyCreditCap=250", "phoneMode=allowlist", "phonePatterns=+65*,+44*", "--json"]);
    assert.equal(s.code, 0, s.err);
    const got = get();
    assert.deepEqual([got.blockBrowser, got.dailyCreditCap, got.phoneMode, got.phonePatterns], [true, 250, "allowlist", ["+65*", "+44*"]]);
    // Once a mode is set, patterns alone are fine; each setting is parsed as its type.
    const typed = cli([
      "settings",
      "set",
      "phonePatterns=+6591234567",
      "blockBrowser=false",
      "blockOsCommands=yes",
      "dailyCreditCap=none",
      "maxSessionMinutes=120",
      "sshRotationDays=30",
      "sshAllowlist=203.0.113.7,198.51.100.0/24",
      "model=custom",
      "customModel=my-llm/llama-3.3-70b@https://llm.example.com/v1",
      "--json",
    ]);
    assert.equal(typed.code, 0, typed.err);
    const t2 = JSON.parse(typed.out);
    assert.deepEqual(
      [t2.phonePatterns, t2.blockBrowser, t2.blockOsCommands, t2.dailyCreditCap, t2.maxSessionMinutes, t2.sshRotationDays, t2.sshAllowlist],
      [["+6591234567"], false, true, null, 120, 30, ["203.0.113.7/32", "198.51.100.0/24"]],
    );
    assert.deepEqual(t2.customModel, { provider: "my-llm", modelId: "llama-3.3-70b", baseUrl: "https://llm.example.com/v1" });

    // Mistakes: the setting as typed and the values it accepts, all of them, one per line; nothing sent.
    const [many, model, cidr, type] = await cliAll([
      ["settings", "set", "blockBrowser=maybe", "dailyCreditCap=-1", "sshRotationDays=45", "colour=blue", "nonsense", "phonePatterns=12345"],
      ["settings", "set", "model=gpt-9000"],
      ["settings", "set", "sshAllowlist=203.0.113.7,10.0.0.0/33"],
      ["settings", "set", "defaultInstanceType=x1.32xlarge"],
    ]);
    assert.equal(many!.code, 2);
    assert.deepEqual(many!.err.trimEnd().split("\n"), [
      "tropic: 6 settings are not right; nothing was changed:",
      "  blockBrowser=maybe: must be true or false (blockBrowser=true|false)",
      "  dailyCreditCap=-1: must be a whole number of credits, or none for no limit (dailyCreditCap=1..1000000|none)",
      "  sshRotationDays=45: must be 30, 60 or 90 (sshRotationDays=30|60|90)",
      '  unknown setting "colour" (the settings: blockBrowser, blockCodeExecution, blockOsCommands, dailyCreditCap, maxSessionMinutes, model, customModel, defaultInstanceType, sshAllowlist, sshRotationDays, phoneMode, phonePatterns)',
      '  "nonsense" is not KEY=VALUE, e.g. blockBrowser=true',
      '  phonePatterns: "12345" is not an E.164 pattern: use + followed by digits, optionally ending in * (e.g. +6591234567 or +65*) (phonePatterns=+65*,+44*,…|none)',
    ]);
    assert.equal(model!.code, 2);
    assert.match(
      model!.err,
      /^tropic: model=gpt-9000: not a model preset; choose one of anthropic\/claude-opus-4-6, .*, or model=custom with customModel=PROVIDER\/MODEL\[@BASE_URL\]/,
    );
    // What only the server checks is still said in the CLI's words: no API field paths.
    assert.equal(cidr!.code, 1);
    assert.match(
      cidr!.err,
      /^tropic: sshAllowlist=203\.0\.113\.7,10\.0\.0\.0\/33: "10\.0\.0\.0\/33" is not an IPv4\/IPv6 address or CIDR block .*\(sshAllowlist=203\.0\.113\.7,198\.51\.100\.0\/24,…\|none\)\n$/,
    );
    assert.equal(
      type!.err,
      'tropic: defaultInstanceType=x1.32xlarge: unknown instance type "x1.32xlarge"; choose one of t3.micro, t3.small, t3.medium (defaultInstanceType=TYPE)\n',
    );
    const after = get();
    assert.deepEqual(
      [after.blockBrowser, after.maxSessionMinutes, after.sshRotationDays, after.model],
      [false, 120, 30, "custom"],
      "refused settings changed nothing",
    );
  });

  await t.test("credentials from stdin; credits", () => {
    const c = cli(["credentials", "set", "ANTHROPIC_API_KEY"], "sk-ant-api03-abcdefghijklmnop-9876\n");
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /Stored ANTHROPIC_API_KEY \(…9876\), encrypted/);
    assert.ok(!cli(["credentials", "ls"]).out.includes("sk-ant"));
    const credits = cli(["credits"]).out;
    assert.match(credits, /^Balance: 0 credits/);
    assert.match(credits, /Burn rate: 0 credits\/hour\nForecast: .*(nothing is charged|No instance)/i);
    const json = JSON.parse(cli(["credits", "--json"]).out);
    assert.deepEqual([json.balance, json.usage.burnRate, json.usage.runsOutAt], [0, 0, null]);
  });

  await t.test("ssh-key download: the key file, and for local instances no VM to SSH into", () => {
    const out = join(dir, "key.pem");
    const r = cli(["ssh-key", "download", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.ok(!r.out.includes("your-vm-ip"));
    const home = JSON.parse(cli(["instances", "ls", "--json"]).out)[0];
    assert.match(r.out, /Your instance home runs on the Tropic server as a sandboxed process, not a VM: there is no SSH login to it\./);
    assert.ok(r.out.includes(`${server.url}/i/${home.id}/`), r.out);
    assert.match(r.out, /The key is for cloud VMs \(ssh -i \S+key\.pem ubuntu@<the VM's IP>\)/);
    const json = JSON.parse(cli(["ssh-key", "download", "--out", out, "--json"]).out);
    assert.deepEqual([json.ssh, json.local], [[], [{ instance: "home", url: `${server.url}/i/${home.id}/` }]]);
  });

  await t.test("an unreachable server is named", () => {
    const r = spawnSync(BIN, ["instances", "ls", "--url", "http://127.0.0.1:9"], { env, encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the Tropic server at http:\/\/127\.0\.0\.1:9/);
  });
});
