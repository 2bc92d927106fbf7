// SSH key rotation end to end: a real control plane, a REAL sandboxed OpenClaw instance whose
// instance agent writes ~/.ssh/authorized_keys, and a REAL sshd (Debian openssh-server) on a loopback
// port reading that file. The downloaded tropic-vm-key.pem logs in; after a rotation through the API
// the agent rewrites the file, the old key is refused and the new one accepted; a stopped instance
// gets the newest key when it starts again. ~1–2 minutes.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "@tropic/providers";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Api, destroyAll, freshDataDir, inProcessServer, removeDir, sleep } from "./instances-harness.ts";

const SSHD = "/usr/sbin/sshd";

/** Polls until `fn` returns a value (not undefined) or the bound passes. */
async function waitFor<T>(what: string, ms: number, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

const readOr = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

test("SSH keys: the downloaded key logs in to a real sshd; after a rotation the old key is refused, the new accepted", {
  timeout: 600_000,
}, async (t) => {
  if (!existsSync(SSHD) || spawnSync("ssh", ["-V"]).status !== 0)
    throw new Error("openssh-server and openssh-client are needed (apt-get install openssh-server openssh-client)");
  const dataDir = freshDataDir();
  const tmp = mkdtempSync(join(tmpdir(), "tropic-sshd-"));
  const server = await inProcessServer(dataDir);
  let sshd: ChildProcess | null = null;
  let sshdLog = "";
  t.after(async () => {
    if (sshd && sshd.exitCode === null) sshd.kill("SIGTERM");
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
    rmSync(tmp, { recursive: true, force: true });
  });

  const root = new Api(server.url);
  const a = await root.as(`ssh-${Date.now()}@example.com`);
  const created = await a.call("POST", "/api/v1/instances", { name: "ssh-home" });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id as string;
  await a.until(`/api/v1/instances/${id}`, (j) => j.state === "running", 180_000, "instance running");

  const instDir = join(dataDir, "instances", id);
  const authorizedKeys = join(instDir, "home", ".ssh", "authorized_keys");
  const key1 = (await a.call("GET", "/api/v1/ssh-key")).json;
  await waitFor("the agent to write authorized_keys", 60_000, () => (readOr(authorizedKeys) === `${key1.publicKey}\n` ? true : undefined));

  await t.test("written by the agent's user: the gateway's group may read, not change (0640 in a 0750 ~/.ssh)", () => {
    const inst = JSON.parse(readFileSync(join(instDir, "instance.json"), "utf8")) as { gid: number | null; agentUid?: number | null };
    assert.equal(statSync(authorizedKeys).mode & 0o777, 0o640);
    assert.equal(statSync(join(instDir, "home", ".ssh")).mode & 0o777, 0o750);
    if (inst.agentUid != null) assert.equal(statSync(authorizedKeys).uid, inst.agentUid);
    if (inst.gid !== null) assert.equal(statSync(authorizedKeys).gid, inst.gid);
  });

  const download = async (file: string) => {
    const r = await fetch(`${server.url}/api/v1/ssh-key/private`, { headers: a.auth });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    writeFileSync(join(tmp, file), await r.text(), { mode: 0o600 });
    return join(tmp, file);
  };
  const pem1 = await download("old.pem");

  // A real sshd that reads exactly the instance's authorized_keys (no system config, no PAM, keys only).
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = join(tmp, "host_ed25519");
  assert.equal(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]).status, 0);
  const port = await freePort();
  sshd = spawn(
    SSHD,
    [
      "-D",
      "-e",
      "-f",
      "/dev/null",
      "-p",
      String(port),
      "-o",
      "ListenAddress=127.0.0.1",
      "-h",
      hostKey,
      "-o",
      `AuthorizedKeysFile=${authorizedKeys}`,
      "-o",
      "StrictModes=no",
      "-o",
      `PidFile=${join(tmp, "sshd.pid")}`,
      "-o",
      "UsePAM=no",
      "-o",
      "PasswordAuthentication=no",
      "-o",
      "KbdInteractiveAuthentication=no",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  sshd.stderr!.on("data", (d) => (sshdLog += d));
  await waitFor("sshd to listen", 15_000, async () => {
    if (sshd!.exitCode !== null) throw new Error(`sshd exited ${sshd!.exitCode}: ${sshdLog}`);
    return new Promise<true | undefined>((res) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(undefined));
    });
  });

  /** `ssh -i KEY … root@127.0.0.1 true`: 0 when the key is accepted. */
  const ssh = (pem: string) => {
    const r = spawnSync(
      "ssh",
      [
        "-F",
        "/dev/null",
        "-i",
        pem,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-p",
        String(port),
        "root@127.0.0.1",
        "true",
      ],
      { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, HOME: tmp } },
    );
    return { code: r.status, err: r.stderr };
  };

  await t.test("the downloaded tropic-vm-key.pem logs in", async () => {
    const r = ssh(pem1);
    assert.equal(r.code, 0, `ssh failed: ${r.err}\nsshd: ${sshdLog.slice(-2000)}`);
    // sshd's own log (read once the event loop runs again): that key, by its fingerprint.
    await waitFor("sshd's log line", 5_000, () =>
      sshdLog.includes(`Accepted publickey for root from 127.0.0.1`) && sshdLog.includes(key1.fingerprint) ? true : undefined,
    );
  });

  let pem2 = "";
  await t.test("rotate: the agent rewrites authorized_keys; the old key is refused, the new one accepted", async () => {
    const rot = await a.call("POST", "/api/v1/ssh-key/rotate");
    assert.equal(rot.status, 200, JSON.stringify(rot.json));
    assert.notEqual(rot.json.publicKey, key1.publicKey);
    await waitFor("the agent to write the new key", 60_000, () => (readOr(authorizedKeys) === `${rot.json.publicKey}\n` ? true : undefined));
    const old = ssh(pem1);
    assert.equal(old.code, 255, "the old key is refused");
    assert.match(old.err, /Permission denied \(publickey\)/);
    pem2 = await download("new.pem");
    const fresh = ssh(pem2);
    assert.equal(fresh.code, 0, `new key refused: ${fresh.err}\nsshd: ${sshdLog.slice(-2000)}`);
  });

  await t.test("a stopped instance keeps its pushes queued (the newest supersedes) and gets the newest key when it starts", async () => {
    await a.call("POST", `/api/v1/instances/${id}/stop`);
    await a.until(`/api/v1/instances/${id}`, (j) => j.state === "stopped", 60_000, "instance stopped");
    const before = readOr(authorizedKeys);
    const r3 = (await a.call("POST", "/api/v1/ssh-key/rotate")).json;
    const r4 = (await a.call("POST", "/api/v1/ssh-key/rotate")).json;
    await sleep(1000);
    assert.equal(readOr(authorizedKeys), before, "nothing reaches a stopped instance");
    const { rows } = await server.database.pool.query(
      "SELECT state, payload FROM instance_commands WHERE instance_id = $1 AND kind = 'set_authorized_keys' ORDER BY seq DESC LIMIT 2",
      [id],
    );
    assert.deepEqual(
      rows.map((r) => [r.state, r.payload.keys[0]]),
      [
        ["pending", r4.publicKey],
        ["cancelled", r3.publicKey],
      ],
    );
    await a.call("POST", `/api/v1/instances/${id}/start`);
    await waitFor("the started agent to write the newest key", 180_000, () => (readOr(authorizedKeys) === `${r4.publicKey}\n` ? true : undefined));
    assert.equal(ssh(pem2).code, 255, "the key before the stop is refused now");
    assert.equal(ssh(await download("newest.pem")).code, 0);
  });

  await t.test("an allowlist change reaches the instance's network rules", async () => {
    const set = await a.call("PATCH", "/api/v1/settings", { sshAllowlist: ["203.0.113.7", "2001:db8::/32"] });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    const rules = JSON.parse(readFileSync(join(instDir, "network.json"), "utf8"));
    assert.deepEqual(rules.sshAllowlist, ["203.0.113.7/32", "2001:db8::/32"]);
  });
});
