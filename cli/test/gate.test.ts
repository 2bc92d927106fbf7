// `tropic gate on|off|status` against a real control plane whose instance (a user's machine, byo) has the
// scripted stand-in agent on the real protocol: off asks for confirmation (refused without a terminal
// unless --yes), --packs is checked in the CLI's words, the switch reaches the agent, and the state
// printed is the one the agent reports.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { byoControlPlane, freshDatabase, signUp } from "../../server/test/harness.ts";
import { connectStandInAgent } from "../../server/test/stand-in-agent.ts";

const BIN = join(new URL("../..", import.meta.url).pathname, "bin/tropic");
const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The switch is queued by the API and delivered to the agent after the CLI has its answer: wait for it. */
async function delivered(switches: unknown[], n: number) {
  for (let i = 0; switches.length < n; i++) {
    assert.ok(i < 400, `switch ${n} delivered to the agent (got ${switches.length})`);
    await sleep(25);
  }
}

test("tropic gate: status, off needs --yes without a terminal, --packs errors in the CLI's words, on with packs, --json", async (t) => {
  const database = await freshDatabase("pglite");
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
  const { app, address } = await byoControlPlane(database);
  t.after(async () => {
    await app.close();
    gateway.close();
    await database.close();
  });
  const u = await signUp(app);
  const call = (method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });
  const c = (await call("POST", "/api/v1/instances/connect", { name: "box" })).json();
  const id = c.instance.id as string;
  const creds = await (
    await fetch(`${address}/api/v1/hosts/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: c.enrolment.token, host: HOST }),
    })
  ).json();
  // The stand-in agent applies a switch and reports it, as the real agent does once its gateway runs it.
  let gate = { enabled: true, packs: { base: true, system: false, owasp: false } };
  const switches: Record<string, any>[] = [];
  const agent = await connectStandInAgent({
    base: address,
    token: creds.agentToken,
    instanceId: id,
    port: (gateway.address() as AddressInfo).port,
    status: { gate },
    answer: async (kind, payload: Record<string, any>) => {
      if (kind === "set_gate_config" && payload.gateSwitch) {
        switches.push(payload.config);
        gate = payload.config;
        setTimeout(() => {
          const status = {
            agentPid: 1,
            agentRssBytes: 0,
            agentUptimeSec: 1,
            gatewayPid: 2,
            gatewayRssBytes: 0,
            gatewayUptimeSec: 1,
            gatewayRestarts: 0,
          };
          agent.ws.send(JSON.stringify({ type: "status", status: { ...status, gatewayReady: true, gate } }));
        }, 50);
      }
      return { ok: true };
    },
  });
  t.after(() => agent.close());
  for (let i = 0; (await call("GET", `/api/v1/instances/${id}`)).json().state !== "running"; i++) {
    assert.ok(i < 400, "running");
    await sleep(50);
  }

  const env = { ...process.env, TROPIC_URL: address, TROPIC_TOKEN: u.token, XDG_CONFIG_HOME: database.dataDir };
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout!.on("data", (d) => (out += d));
      p.stderr!.on("data", (d) => (err += d));
      p.on("close", (code) => resolve({ code, out, err }));
    });

  const st = await cli(["gate", "status", "box"]);
  assert.equal(st.code, 0, st.err);
  assert.equal(st.out, "Gate on box: on (packs: base)\nThe instance's gateway has it: every tool call is checked.\n");

  // Off without a terminal and without --yes: refused, nothing changed.
  const ask = await cli(["gate", "off", "box"]);
  assert.equal(ask.code, 2);
  assert.equal(ask.err, "tropic: turning the gate off needs confirmation: run it in a terminal or add --yes (see tropic gate off --help)\n");
  assert.equal(switches.length, 0);
  const offPacks = await cli(["gate", "off", "box", "--yes", "--packs", "system"]);
  assert.equal(offPacks.code, 2);
  assert.match(offPacks.err, /--packs goes with `tropic gate on`/);

  const off = await cli(["gate", "off", "box", "--yes"]);
  assert.equal(off.code, 0, off.err);
  assert.match(off.out, /^Gate on box: OFF \(packs: base\)\n/);
  await delivered(switches, 1);
  assert.deepEqual(switches, [{ enabled: false, packs: { base: true, system: false, owasp: false } }]);
  for (let i = 0; !(await call("GET", `/api/v1/instances/${id}`)).json().gate.off; i++) {
    assert.ok(i < 200, "reported off");
    await sleep(50);
  }
  const st2 = await cli(["gate", "status", "box"]);
  assert.equal(st2.out, "Gate on box: OFF (packs: base)\nThe instance runs without its gate: its tool calls are not checked.\n");

  // --packs in the CLI's words.
  const noBase = await cli(["gate", "on", "box", "--packs", "system"]);
  assert.equal(noBase.code, 2);
  assert.equal(
    noBase.err,
    "tropic: --packs must include base: the base pack stays on while the gate is on (it protects Tropic's own defences); to run without the gate: tropic gate off box\n",
  );
  const unknown = await cli(["gate", "on", "box", "--packs", "base,finance"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'tropic: --packs: unknown pack "finance" (the packs are base, system and owasp)\n');
  const nosuch = await cli(["gate", "on", "nosuch"]);
  assert.equal(nosuch.code, 1);
  assert.match(nosuch.err, /no instance named "nosuch" \(tropic instances ls\)/);
  assert.equal(switches.length, 1, "nothing sent for refused commands");

  // On with packs, --json: the API's instance.
  const on = await cli(["gate", "on", "box", "--packs", "base,owasp", "--json"]);
  assert.equal(on.code, 0, on.err);
  const body = JSON.parse(on.out);
  assert.equal(body.gate.enabled, true);
  assert.deepEqual(body.gate.packs, { base: true, system: false, owasp: true });
  await delivered(switches, 2);
  assert.deepEqual(switches.at(-1), { enabled: true, packs: { base: true, system: false, owasp: true } });
});
