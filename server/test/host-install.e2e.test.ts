// The one-liner on a real Linux host (issue 16): a booted Debian machine (systemd as PID 1,
// server/test/booted-host.ts) on a private network that reaches only this control plane. A user with
// an OpenClaw of their own and sudo runs the command the dashboard shows, as they would type it; the
// installer downloads and verifies the bundle from the control plane, tropic-host enrols and installs
// the services; both come up under systemd, the instance reaches running (its gateway asked through
// the agent's tunnel: no inbound port), the user's OpenClaw is kept; a gateway killed comes back, a
// reboot brings everything back; deleting the instance uninstalls the host and leaves nothing behind.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { hostBundles } from "../src/hosts/bundle.ts";
import { bootedHostSkip, bootHost } from "./booted-host.ts";
import { Api, destroyAll, freshDataDir, inProcessServer, removeDir, sleep } from "./instances-harness.ts";

const skip = bootedHostSkip();

function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test("one-liner on a booted Debian host → services up → instance running; restarts, reboot, uninstall", { skip, timeout: 30 * 60_000 }, async (t) => {
  const h = await bootHost({ t, name: "laptop" });
  const dataDir = freshDataDir();
  const port = await freePortOn(h.hostAddress);
  const publicUrl = `http://${h.hostAddress}:${port}`;
  const server = await inProcessServer(dataDir, 2000, { host: h.hostAddress, port, publicUrl });
  t.after(async () => {
    await server.close().catch(() => {});
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  // The bundle is built once per version (here, before the clock starts: `tropic serve` warms it at start).
  const tb = Date.now();
  const manifest = await hostBundles(dataDir).manifest();
  const bundle = manifest.platforms["linux-x64"]!;
  t.diagnostic(`bundle ${bundle.file}: ${(bundle.bytes / 1e6).toFixed(1)} MB, ready in ${((Date.now() - tb) / 1000).toFixed(1)} s`);

  const api = await new Api(server.url).as("laptop-owner@example.com");
  const c = await api.call("POST", "/api/v1/instances/connect", { name: "laptop" });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const { instance, enrolment } = c.json;
  assert.equal(enrolment.command, `curl -fsSL ${publicUrl}/install/host.sh | sh -s -- --token ${enrolment.token}`);

  // A user of the machine with an OpenClaw of their own, and sudo.
  await h.exec(
    [
      "useradd -m -s /bin/sh alice",
      "echo 'alice ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/alice",
      "mkdir -p /home/alice/.openclaw/workspace",
      "echo 'I am Alice own agent' > /home/alice/.openclaw/workspace/SOUL.md",
      `echo '{"agents":{"defaults":{"workspace":"/home/alice/.openclaw/workspace"}}}' > /home/alice/.openclaw/openclaw.json`,
      "chown -R alice:alice /home/alice/.openclaw",
    ].join(" && "),
  );

  await t.test("the one-liner, as the user types it: downloaded, verified, enrolled, services up, instance running", async () => {
    const t0 = Date.now();
    const r = await h.exec(enrolment.command, { user: "alice", timeoutMs: 15 * 60_000 });
    const installMs = Date.now() - t0;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = r.stdout + r.stderr;
    assert.match(out, /sha256 verified/);
    assert.match(out, /enrolled as instance/);
    assert.ok(!out.includes(enrolment.token), "the token is never printed");
    const active = await h.exec(
      "systemctl is-active tropic-agent.service openclaw-gateway.service; systemctl is-enabled tropic-agent.service openclaw-gateway.service",
    );
    const running = await api
      .until(`/api/v1/instances/${instance.id}`, (j) => j?.state === "running", 4 * 60_000, "running")
      .catch(async (e) => {
        const logs = await h.exec(
          "tail -n 60 /var/lib/tropic/gateway.log; echo ---; tail -n 40 /var/lib/tropic/agent.log; systemctl status --no-pager openclaw-gateway.service",
        );
        throw new Error(`${(e as Error).message}\n${logs.stdout}${logs.stderr}`);
      });
    const totalMs = Date.now() - t0;
    t.diagnostic(`one-liner ${(installMs / 1000).toFixed(1)} s; to running ${(totalMs / 1000).toFixed(1)} s (bundle download included)`);
    assert.match(active.stdout, /^active\n(active|activating)\nenabled\nenabled/, active.stdout);
    assert.equal(running.host?.os ?? "linux", "linux");
    const rss = await h.exec("ps -o rss= -p $(systemctl show -p MainPID --value tropic-agent.service)");
    t.diagnostic(`agent RSS on the host: ${(Number(rss.stdout.trim()) / 1024).toFixed(1)} MB`);
  });

  await t.test("what is on the host: credential 0600 root, two users, services as them, the user's OpenClaw kept and backed up", async () => {
    const cred = await h.exec("stat -c '%a %U' /var/lib/tropic/agent.json");
    assert.equal(cred.stdout.trim(), "600 root");
    const users = await h.exec("id tropic-gw; id tropic-agent");
    assert.match(users.stdout, /uid=\d+\(tropic-gw\)/);
    assert.match(users.stdout, /uid=\d+\(tropic-agent\).*groups=.*tropic-gw/);
    const who = await h.exec("ps -o user= -p $(systemctl show -p MainPID --value openclaw-gateway.service)");
    assert.equal(who.stdout.trim(), "tropic-gw", "the gateway runs as its own unprivileged user");
    const listen = await h.exec("ss -ltnH 2>/dev/null || cat /proc/net/tcp");
    assert.doesNotMatch(listen.stdout, /0\.0\.0\.0:18789|\*:18789/, "the gateway binds loopback only");
    const soul = await h.exec("cat /var/lib/tropic/home/.openclaw/workspace/SOUL.md; ls /var/lib/tropic/backups/");
    assert.match(soul.stdout, /I am Alice own agent/);
    assert.match(soul.stdout, /openclaw-.*\.tar\.gz/);
    const cfg = await h.exec("stat -c '%a %U %G' /var/lib/tropic/home/.openclaw/openclaw.json; cat /var/lib/tropic/home/.openclaw/openclaw.json");
    assert.match(cfg.stdout, /^640 tropic-agent tropic-gw/);
    assert.match(cfg.stdout, /"workspace": "\/var\/lib\/tropic\/home\/\.openclaw\/workspace"/, "the user's paths follow the move");
    assert.match(cfg.stdout, /tropic-gate/, "the gate is in");
    const orig = await h.exec("cat /home/alice/.openclaw/openclaw.json");
    assert.match(orig.stdout, /\/home\/alice\/\.openclaw\/workspace/, "the original is untouched");
    const units = await h.exec("cat /etc/systemd/system/openclaw-gateway.service /etc/systemd/system/tropic-agent.service");
    assert.doesNotMatch(units.stdout, new RegExp(enrolment.token));
  });

  await t.test("systemctl kill of the gateway: systemd brings it back, the instance returns to running", async () => {
    const before = (await h.exec("systemctl show -p MainPID --value openclaw-gateway.service")).stdout.trim();
    await h.exec("systemctl kill -s KILL openclaw-gateway.service");
    const t0 = Date.now();
    for (;;) {
      const now = (await h.exec("systemctl show -p MainPID --value openclaw-gateway.service")).stdout.trim();
      if (now !== "0" && now !== before) break;
      assert.ok(Date.now() - t0 < 60_000, "the gateway came back");
      await sleep(500);
    }
    await api.until(`/api/v1/instances/${instance.id}`, (j) => j?.state === "running", 3 * 60_000, "running after the kill");
  });

  await t.test("a reboot brings both services back and the instance returns to running", async () => {
    const ms = await h.reboot();
    t.diagnostic(`reboot ${ms} ms`);
    const active = await h.exec("systemctl is-active tropic-agent.service");
    assert.equal(active.stdout.trim(), "active");
    await api.until(`/api/v1/instances/${instance.id}`, (j) => j?.state === "running", 5 * 60_000, "running after the reboot");
  });

  await t.test("deleting the instance uninstalls the host: no unit, user or file left", async () => {
    const d = await api.call("DELETE", `/api/v1/instances/${instance.id}`);
    assert.ok(d.status === 202 || d.status === 200 || d.status === 204, JSON.stringify(d.json));
    const t0 = Date.now();
    let left = "";
    for (;;) {
      const r = await h.exec(
        "ls /etc/systemd/system/openclaw-gateway.service /etc/systemd/system/tropic-agent.service /var/lib/tropic /opt/tropic 2>/dev/null; getent passwd tropic-gw tropic-agent; getent group tropic-gw tropic-agent; true",
      );
      left = r.stdout.trim();
      if (!left) break;
      assert.ok(Date.now() - t0 < 120_000, `left behind:\n${left}`);
      await sleep(1000);
    }
    const units = await h.exec("systemctl list-units --all --no-legend 'openclaw*' 'tropic-agent*'");
    assert.equal(units.stdout.trim(), "");
  });
});
