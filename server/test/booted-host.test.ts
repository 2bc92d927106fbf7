// The booted-host fixture itself: a real Debian host booted with systemd as PID 1 on a private network
// (see booted-host.ts). Proves the guest runs, serves, reaches this machine only at hostAddress, survives
// a reboot, and that cleanup leaves nothing behind. ~15 s once the root filesystem is cached.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { networkInterfaces } from "node:os";
import { test } from "node:test";
import { type BootedHost, bootedHostSkip, bootHost, debianRootfs } from "./booted-host.ts";

const skip = bootedHostSkip();

function listen(server: Server, port: number, host: string) {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

test("a booted Debian host: systemd, nginx, its network, reboot, cleanup", { skip, timeout: 30 * 60_000 }, async (t) => {
  const rootfs = await debianRootfs();
  t.diagnostic(rootfs.buildMs ? `root filesystem built in ${(rootfs.buildMs / 1000).toFixed(1)} s` : "root filesystem from the cache");

  // Two hosts at once: the second with a cloud-init seed (cloud-init adds ~5 s to each of its boots, so
  // the first, without one, is the one rebooted).
  const [h, other] = await Promise.all([
    bootHost({ t }),
    bootHost({
      t,
      name: "second",
      seed: { userData: "#cloud-config\nwrite_files:\n  - path: /etc/tropic-seeded\n    content: seeded by cloud-init\n" },
    }),
  ]);
  t.diagnostic(`setup ${h.setupMs} ms (rootfs from the cache, overlay, network); boot to ${h.state} ${h.bootMs} ms`);
  t.diagnostic(`second host, in parallel, with cloud-init: setup ${other.setupMs} ms, boot to ${other.state} ${other.bootMs} ms`);

  await t.test("systemd is PID 1 and the system is running", async () => {
    const comm = await h.exec("cat /proc/1/comm");
    assert.equal(comm.stdout.trim(), "systemd");
    const st = await h.exec("systemctl is-system-running");
    if (st.stdout.trim() !== "running") {
      const failed = await h.exec("systemctl --failed --no-legend --plain");
      assert.fail(`system is ${st.stdout.trim()}; failed units:\n${failed.stdout}`);
    }
    // cloud-init ran the second host's NoCloud seed (and is off on the first)
    const ci = await other.exec("cloud-init status --long; cat /etc/tropic-seeded");
    assert.match(ci.stdout, /status: done/);
    assert.match(ci.stdout, /seeded by cloud-init/, ci.stderr);
    assert.equal((await other.exec("systemctl is-system-running")).stdout.trim(), "running");
    assert.notEqual((await h.exec("test -e /etc/tropic-seeded")).code, 0);
    // exec as a user of the guest
    await h.exec("useradd -m alice");
    const who = await h.exec("id -un; pwd; echo $HOME", { user: "alice" });
    assert.deepEqual(who.stdout.trim().split("\n"), ["alice", "/home/alice", "/home/alice"]);
    const rc = await h.exec("exit 7");
    assert.equal(rc.code, 7);
    const input = await h.exec("cat", { input: "from stdin" });
    assert.equal(input.stdout, "from stdin");
  });

  await t.test("nginx in the guest answers on the guest address from this machine", async () => {
    const r = await fetch(`http://${h.guestAddress}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /nginx/);
  });

  await t.test("the guest reaches a server at hostAddress, and nothing else", async () => {
    const server = createServer((_q, s) => s.end("hello from the control plane"));
    const port = await listen(server, 0, h.hostAddress);
    // a server on all of this machine's addresses (not only hostAddress)
    const wide = createServer((_q, s) => s.end("should not be reachable"));
    const widePort = await listen(wide, 0, "0.0.0.0");
    try {
      const ok = await h.exec(`curl -sS --max-time 5 http://${h.hostAddress}:${port}/`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "hello from the control plane");
      // no route out: fails at once (no packet leaves the namespace)
      const t0 = Date.now();
      const out = await h.exec("curl -sS --max-time 2 http://1.1.1.1/");
      assert.notEqual(out.code, 0);
      assert.ok(Date.now() - t0 < 5000);
      const routes = await h.exec("ip -4 route show; ip -6 route show");
      assert.doesNotMatch(routes.stdout, /default/);
      // even when the guest routes to this machine's other addresses through the veth, the host side
      // accepts nothing but hostAddress (the wide server's port on this machine's own address times out)
      const mine = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === "IPv4" && !i.internal && !i.address.startsWith("198.1"));
      if (mine) {
        await h.exec(`ip route add ${mine.address}/32 via ${h.hostAddress}`);
        const other = await h.exec(`curl -sS --max-time 2 http://${mine.address}:${widePort}/`);
        assert.notEqual(other.code, 0, other.stdout);
        const same = await h.exec(`curl -sS --max-time 2 http://${h.hostAddress}:${widePort}/`);
        assert.equal(same.stdout, "should not be reachable"); // (it is: it listens on hostAddress too)
        await h.exec(`ip route del ${mine.address}/32`);
      }
    } finally {
      server.close();
      wide.close();
    }
  });

  await t.test("two hosts run side by side, each on its own network, and cannot reach each other", async () => {
    assert.notEqual(h.guestAddress, other.guestAddress);
    assert.notEqual(h.hostAddress, other.hostAddress);
    assert.equal((await other.exec("hostname")).stdout.trim(), "second");
    assert.notEqual((await other.exec("cat /etc/machine-id")).stdout, (await h.exec("cat /etc/machine-id")).stdout);
    assert.equal((await fetch(`http://${other.guestAddress}/`, { signal: AbortSignal.timeout(5000) })).status, 200);
    const direct = await h.exec(`curl -sS --max-time 2 http://${other.guestAddress}/`);
    assert.notEqual(direct.code, 0, "no route to the other host");
    // a route through this machine does not help: nothing is forwarded to or from a host's veth
    await h.exec(`ip route add ${other.guestAddress}/32 via ${h.hostAddress}`);
    const routed = await h.exec(`curl -sS --max-time 2 http://${other.guestAddress}/`);
    assert.notEqual(routed.code, 0, routed.stdout);
    await h.exec(`ip route del ${other.guestAddress}/32`);
    await other.cleanup();
  });

  await t.test("reboot brings it back to running", async () => {
    const before = h.pid1();
    await h.exec("echo kept > /var/tmp/kept");
    const ms = await h.reboot();
    t.diagnostic(`reboot to ${h.state} in ${ms} ms`);
    assert.notEqual(h.pid1(), before);
    assert.equal((await h.exec("cat /var/tmp/kept")).stdout.trim(), "kept");
    assert.equal((await h.exec("cat /proc/1/comm")).stdout.trim(), "systemd");
    const r = await fetch(`http://${h.guestAddress}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    // a reboot the guest makes itself (as code under test would): relaunched, and waitForBoot sees it
    const n = h.boots;
    await h.exec("systemctl reboot");
    await h.waitForBoot(n + 1);
    assert.equal(h.boots, n + 1);
    assert.equal((await h.exec("systemctl is-system-running")).stdout.trim(), "running");
  });

  await t.test("stop and start", async () => {
    await h.stop();
    await assert.rejects(h.exec("true"), /not running/);
    const ms = await h.start();
    t.diagnostic(`start after stop: ${ms} ms`);
    assert.equal((await h.exec("cat /var/tmp/kept")).stdout.trim(), "kept");
  });

  await t.test("cleanup leaves no process, namespace, veth, table or mount behind", async () => {
    const pid1 = h.pid1();
    assert.ok(pid1 > 0);
    await h.cleanup();
    assert.ok(!existsSync(`/proc/${pid1}`) || readFileSync(`/proc/${pid1}/stat`, "utf8").includes(") Z "), "the container's PID 1 is gone");
    for (const x of [h, other]) assert.deepEqual(leftovers(x), []);
    await h.cleanup(); // idempotent
  });
});

/** What is left of a host on this machine after its cleanup. */
function leftovers(h: BootedHost): string[] {
  const n = h.netns.split("-").pop();
  const out = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { encoding: "utf8" }).stdout;
  const left: string[] = [];
  if (new RegExp(`^${h.netns}\\b`, "m").test(out("ip", "netns", "list"))) left.push(`netns ${h.netns}`);
  if (new RegExp(`^th${n}h\\b`, "m").test(out("ip", "-br", "link"))) left.push(`veth th${n}h`);
  if (new RegExp(`tropic_host_${n}\\b`).test(out("nft", "list", "tables"))) left.push(`nft table tropic_host_${n}`);
  const dir = h.rootDir.replace(/\/root$/, "");
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) if (line.includes(dir)) left.push(`mount ${line}`);
  if (existsSync(dir)) left.push(`dir ${dir}`);
  const procs = out("pgrep", "-af", `systemd-nspawn.*${h.rootDir}`).trim();
  if (procs) left.push(`process ${procs}`);
  return left;
}
