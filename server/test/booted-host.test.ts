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

  let host: BootedHost | null = await bootHost({
    t,
    seed: { userData: "#cloud-config\nwrite_files:\n  - path: /etc/tropic-seeded\n    content: seeded by cloud-init\n" },
  });
  const h = host;
  t.diagnostic(`setup ${h.setupMs} ms (rootfs from cache, overlay, network), boot to ${h.state} ${h.bootMs} ms`);

  await t.test("systemd is PID 1 and the system is running", async () => {
    const comm = await h.exec("cat /proc/1/comm");
    assert.equal(comm.stdout.trim(), "systemd");
    const st = await h.exec("systemctl is-system-running");
    if (st.stdout.trim() !== "running") {
      const failed = await h.exec("systemctl --failed --no-legend --plain");
      assert.fail(`system is ${st.stdout.trim()}; failed units:\n${failed.stdout}`);
    }
    // cloud-init ran the NoCloud seed
    const ci = await h.exec("cloud-init status --wait >/dev/null; cat /etc/tropic-seeded", { timeoutMs: 60_000 });
    assert.equal(ci.stdout.trim(), "seeded by cloud-init", ci.stderr);
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
  });

  await t.test("stop and start", async () => {
    await h.stop();
    await assert.rejects(h.exec("true"), /not running/);
    const ms = await h.start();
    t.diagnostic(`start after stop: ${ms} ms`);
    assert.equal((await h.exec("cat /var/tmp/kept")).stdout.trim(), "kept");
  });

  await t.test("cleanup leaves no process, namespace, veth or mount behind", async () => {
    const pid1 = h.pid1();
    assert.ok(pid1 > 0);
    await h.cleanup();
    host = null;
    assert.ok(!existsSync(`/proc/${pid1}`) || readFileSync(`/proc/${pid1}/stat`, "utf8").includes(") Z "), "the container's PID 1 is gone");
    const ns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
    assert.doesNotMatch(ns, new RegExp(`\\b${h.netns}\\b`));
    const links = spawnSync("ip", ["-br", "link"], { encoding: "utf8" }).stdout;
    const hostIf = `th${h.netns.split("-").pop()}h`;
    assert.doesNotMatch(links, new RegExp(`^${hostIf}\\b`, "m"));
    const tables = spawnSync("nft", ["list", "tables"], { encoding: "utf8" }).stdout;
    assert.doesNotMatch(tables, new RegExp(`tropic_host_${h.netns.split("-").pop()}\\b`));
    assert.doesNotMatch(readFileSync("/proc/mounts", "utf8"), new RegExp(h.rootDir.replace(/[.]/g, "\\.")));
    assert.ok(!existsSync(h.rootDir));
    const nspawns = spawnSync("pgrep", ["-f", `systemd-nspawn.*${h.rootDir}`], { encoding: "utf8" }).stdout.trim();
    assert.equal(nspawns, "");
    await h.cleanup(); // idempotent
  });
});
