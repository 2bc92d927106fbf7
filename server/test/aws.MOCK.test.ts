// Cloud (aws) instances through the API and the control plane, with AWS's EC2 and SSM APIs MOCKED
// (aws-sdk-client-mock: providers/test/aws-world.MOCK.ts; nothing else is): without AWS configured the
// API names what to set and creates nothing; regions and types are those configured; the caller's
// address becomes the SSH allowlist; user B cannot see or touch user A's VM; and the reconciler drives a
// VM through create (one security group with the seed's table, the enrolment token in SSM), stop,
// start and a two-phase delete that leaves nothing behind.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { AwsWorld, testAwsSettings } from "../../providers/test/aws-world.MOCK.ts";
import { buildApp, LOG_REDACT } from "../src/app.ts";
import { type Config, loadConfig } from "../src/config.ts";
import { awsProviderFor } from "../src/instances/aws.ts";
import { InstanceManager } from "../src/instances/manager.ts";
import { selectUpstream } from "../src/proxy/upstream.ts";
import { startServer } from "../src/server.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { backends, freshDatabase, signUp, TEST_KEY, testApp } from "./harness.ts";
import { freshDataDir } from "./instances-harness.ts";

const AWS = testAwsSettings();
const CONFIGURED: Partial<Config> = { aws: AWS, publicUrl: "https://tropic.example.com" };

/** An app whose instance manager runs only the aws provider (AWS's API mocked by the caller's AwsWorld), started. */
async function bootAwsApp(
  config: Config,
  database: Awaited<ReturnType<typeof freshDatabase>>,
  kek: LocalKek,
  extra: Parameters<typeof awsProviderFor>[2] = {},
) {
  const aws = awsProviderFor(config, database.db, { pollMs: 5, backoffMs: 5, ...extra });
  assert.ok(aws, "configured");
  const app = await buildApp({
    config,
    database,
    kek,
    logger: { level: "fatal", redact: LOG_REDACT },
    instances: (log) =>
      new InstanceManager({
        database,
        kek,
        providers: { aws },
        agentUrl: () => "wss://tropic.example.com/api/v1/agent/connect",
        log,
        healthIntervalMs: 300,
      }),
  });
  await app.ready();
  await app.instances!.start();
  return app;
}

for (const kind of await backends()) {
  test(`[${kind}] without AWS configured, a cloud instance is refused naming what to set; nothing is created`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const u = await signUp(h.app);
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/instances",
      headers: u.auth,
      payload: { name: "cloud", provider: "aws", region: "eu-west-2", instanceType: "t3.small" },
    });
    assert.equal(res.statusCode, 400);
    const e = res.json().error;
    assert.equal(e.code, "not_configured");
    assert.equal(e.field, "provider");
    assert.deepEqual(e.details.missing, ["TROPIC_AWS_INSTANCE_PROFILE", "TROPIC_AWS_PROXY_CIDRS", "TROPIC_PUBLIC_URL"]);
    assert.match(
      e.message,
      /Cloud \(AWS\) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE, TROPIC_AWS_PROXY_CIDRS, TROPIC_PUBLIC_URL/,
    );
    assert.equal((await h.app.inject({ method: "GET", url: "/api/v1/instances", headers: u.auth })).json().items.length, 0);
    const providers = (await h.app.inject({ method: "GET", url: "/api/v1/providers", headers: u.auth })).json().items;
    const aws = providers.find((p: { id: string }) => p.id === "aws");
    assert.equal(aws.available, false);
    assert.deepEqual(aws.missing, e.details.missing);
    assert.equal(aws.message, e.message);
    assert.equal(providers.find((p: { id: string }) => p.id === "local").available, true);
  });

  test(`[${kind}] partly configured: only what is missing is named`, async (t) => {
    const h = await testApp(kind, { aws: { ...AWS, proxyCidrs: [] }, publicUrl: "https://tropic.example.com" });
    t.after(() => h.close());
    const u = await signUp(h.app);
    const res = await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "cloud", provider: "aws" } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().error.details.missing, ["TROPIC_AWS_PROXY_CIDRS"]);
  });

  test(`[${kind}] configured: regions and types as configured, credits per hour, the caller's IP as the SSH allowlist, B cannot touch A's VM`, async (t) => {
    const h = await testApp(kind, { ...CONFIGURED, aws: { ...AWS, regions: ["eu-west-1", "eu-west-2"], instanceTypes: ["t3.micro", "t3.medium"] } });
    t.after(() => h.close());
    await signUp(h.app); // the admin
    const a = await signUp(h.app);
    const b = await signUp(h.app);
    const as = (who: typeof a, method: string, url: string, payload?: object) =>
      h.app.inject({ method: method as "GET", url, headers: { ...who.auth, "x-forwarded-for": "198.51.100.77" }, ...(payload ? { payload } : {}) });

    const providers = (await as(a, "GET", "/api/v1/providers")).json().items;
    const aws = providers.find((p: { id: string }) => p.id === "aws");
    assert.equal(aws.available, true);
    assert.deepEqual(aws.regions, ["eu-west-1", "eu-west-2"]);
    assert.equal(aws.defaultRegion, "eu-west-1");
    assert.deepEqual(
      aws.instanceTypes.map((x: { id: string; creditsPerHour: number }) => [x.id, x.creditsPerHour]),
      [
        ["t3.micro", 5],
        ["t3.medium", 30],
      ],
    );

    const badRegion = await as(a, "POST", "/api/v1/instances", { name: "x", provider: "aws", region: "us-east-1" });
    assert.equal(badRegion.statusCode, 400);
    assert.equal(badRegion.json().error.field, "region");
    assert.match(badRegion.json().error.message, /choose one of eu-west-1, eu-west-2/);
    const badType = await as(a, "POST", "/api/v1/instances", { name: "x", provider: "aws", region: "eu-west-2", instanceType: "t3.small" });
    assert.equal(badType.statusCode, 400);
    assert.equal(badType.json().error.field, "instanceType");
    assert.equal((await as(a, "GET", "/api/v1/instances")).json().items.length, 0, "nothing half-created");

    const res = await as(a, "POST", "/api/v1/instances", { name: "vm", provider: "aws", region: "eu-west-2", instanceType: "t3.medium" });
    assert.equal(res.statusCode, 201, res.body);
    const inst = res.json();
    assert.deepEqual([inst.provider, inst.region, inst.instanceType, inst.state], ["aws", "eu-west-2", "t3.medium", "provisioning"]);
    // The caller's address is the allowlist now (behind the TLS proxy TROPIC_PUBLIC_URL implies: the client address it reports).
    const settings = (await as(a, "GET", "/api/v1/settings")).json();
    assert.deepEqual(settings.sshAllowlist, ["198.51.100.77/32"]);
    // …but an allowlist the user set is never replaced.
    await as(a, "PATCH", "/api/v1/settings", { sshAllowlist: ["192.0.2.1"] });
    const second = await as(a, "POST", "/api/v1/instances", { name: "vm2", provider: "aws" });
    assert.equal(second.statusCode, 201);
    assert.deepEqual([second.json().region, second.json().instanceType], ["eu-west-1", "t3.micro"], "the configured defaults");
    assert.deepEqual((await as(a, "GET", "/api/v1/settings")).json().sshAllowlist, ["192.0.2.1/32"]);

    for (const [method, url, body] of [
      ["GET", `/api/v1/instances/${inst.id}`],
      ["PATCH", `/api/v1/instances/${inst.id}`, { name: "mine" }],
      ["POST", `/api/v1/instances/${inst.id}/start`],
      ["POST", `/api/v1/instances/${inst.id}/stop`],
      ["POST", `/api/v1/instances/${inst.id}/restart`],
      ["DELETE", `/api/v1/instances/${inst.id}`],
    ] as [string, string, object?][]) {
      const r = await as(b, method, url, body);
      assert.equal(r.statusCode, 404, `B ${method} ${url} → ${r.statusCode}`);
    }
    assert.equal((await as(b, "GET", "/api/v1/instances")).json().items.length, 0);
    const still = (await as(a, "GET", `/api/v1/instances/${inst.id}`)).json();
    assert.equal(still.name, "vm");
    assert.equal(still.desiredState, "running");
  });
}

test("[pglite] the reconciler drives a VM: create (SG with the seed's table, token in SSM), stop, start, two-phase delete", async (t) => {
  const world = new AwsWorld();
  const database = await freshDatabase("pglite");
  const kek = new LocalKek(TEST_KEY);
  const config = loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000, ...CONFIGURED });
  const app = await bootAwsApp(config, database, kek);
  t.after(async () => {
    await app.close();
    await database.close();
    world.restore();
  });
  const u = await signUp(app);
  // Credits to run on (a start with none is paused at once by the meter).
  await database.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    u.id,
    1000 * 1000,
    `grant:${u.id}`,
  ]);
  const call = (method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });
  const until = async (id: string, pred: (j: { state: string; addresses: Record<string, string> }) => boolean, what: string, ms = 20_000) => {
    const t0 = Date.now();
    for (;;) {
      const j = (await call("GET", `/api/v1/instances/${id}`)).json();
      if (pred(j)) return j;
      assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}; last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await call("PATCH", "/api/v1/settings", { sshAllowlist: ["192.0.2.7"] });
  const inst = (await call("POST", "/api/v1/instances", { name: "vm", provider: "aws", region: "ap-southeast-1" })).json();
  const j = await until(inst.id, (x) => x.state === "initializing", "initializing while the VM boots");
  const vms = [...world.vms.values()];
  assert.equal(vms.length, 1);
  assert.equal(j.addresses.ec2InstanceId, vms[0]!.id);
  const { rows } = await database.pool.query("SELECT provider_ref FROM instances WHERE id = $1", [inst.id]);
  assert.equal(rows[0].provider_ref, `aws:ap-southeast-1:${inst.id}:1:${vms[0]!.id}`, "the EC2 id is saved");
  // The security group: exactly the seed's table, 22 from the owner's allowlist.
  const g = [...world.groups.values()][0]!;
  assert.deepEqual(
    g.ingress.map((p) => [p.FromPort, (p.IpRanges ?? []).map((r) => r.CidrIp)]),
    [
      [22, ["192.0.2.7/32"]],
      [80, ["203.0.113.10/32"]],
      [443, ["203.0.113.10/32"]],
      [18789, ["203.0.113.10/32"]],
    ],
  );
  // The enrolment token is in SSM, and nowhere in user-data or the database in clear.
  const param = [...world.params.values()][0]!;
  assert.match(param.value, /^tet_[A-Za-z0-9_-]{43}$/);
  assert.equal(param.type, "SecureString");
  const userData = Buffer.from(world.calls("RunInstancesCommand")[0]!.UserData as string, "base64").toString();
  assert.ok(!userData.includes(param.value));
  const dump = JSON.stringify((await database.pool.query("SELECT * FROM enrolment_tokens")).rows);
  assert.ok(!dump.includes(param.value), "only the token's hash is stored");

  // The allowlist changes: revoked and re-applied at once.
  await call("PATCH", "/api/v1/settings", { sshAllowlist: ["198.51.100.9/32"] });
  assert.deepEqual(
    g.ingress.find((p) => p.FromPort === 22)?.IpRanges?.map((r) => r.CidrIp),
    ["198.51.100.9/32"],
  );

  await call("POST", `/api/v1/instances/${inst.id}/stop`);
  await until(inst.id, (x) => x.state === "stopped", "stopped");
  assert.equal(vms[0]!.state, "stopped");
  await call("POST", `/api/v1/instances/${inst.id}/start`);
  await until(inst.id, (x) => x.state === "initializing", "initializing again");
  assert.deepEqual(world.calls("StartInstancesCommand"), [{ InstanceIds: [vms[0]!.id] }]);
  assert.equal(world.vms.size, 1, "no second VM");

  await call("DELETE", `/api/v1/instances/${inst.id}`);
  const t0 = Date.now();
  while ((await database.pool.query("SELECT 1 FROM instances WHERE id = $1", [inst.id])).rows.length) {
    assert.ok(Date.now() - t0 < 20_000, "the row goes once the VM and its resources are gone");
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(vms[0]!.state, "terminated");
  assert.equal(world.groups.size, 0);
  assert.equal(world.params.size, 0);
  assert.equal(world.keys.size, 0);
  const order = world.names(["TerminateInstancesCommand", "DeleteSecurityGroupCommand", "DeleteParameterCommand", "DeleteKeyPairCommand"]);
  assert.deepEqual(order, ["TerminateInstancesCommand", "DeleteSecurityGroupCommand", "DeleteParameterCommand", "DeleteKeyPairCommand"]);
});

test("the proxy reaches a cloud VM by the configured path: the agent's tunnel, or nginx on its private address with the Referer", () => {
  const tunnel = () => new PassThrough();
  const opts = { referer: "https://tropic.example.com/", tunnel };
  // TROPIC_AWS_REACH=tunnel: what the provider records (no private nginx address): the tunnel, no Referer.
  const viaTunnel = selectUpstream(
    {
      provider: "aws",
      addresses: { region: "eu-west-2", ec2InstanceId: "i-0123456789abcdef0", privateIp: "10.0.3.7", gateway: "http://127.0.0.1:18789" },
    },
    opts,
  );
  assert.deepEqual(viaTunnel, { host: "127.0.0.1", port: 18789, headers: {}, connect: tunnel });
  assert.equal(
    selectUpstream({ provider: "aws", addresses: { gateway: "http://127.0.0.1:18789" } }, { referer: opts.referer }),
    null,
    "no tunnel, no way in",
  );
  assert.equal(selectUpstream({ provider: "aws", addresses: { gateway: "http://203.0.113.5:18789" } }, opts), null, "never a non-loopback gateway");
  // TROPIC_AWS_REACH=nginx: the private address, with the Referer the VM's nginx requires (proxy.test.ts runs it through a real nginx).
  assert.deepEqual(selectUpstream({ provider: "aws", addresses: { privateIp: "10.0.3.7", private: "http://10.0.3.7:80" } }, opts), {
    host: "10.0.3.7",
    port: 80,
    headers: { referer: "https://tropic.example.com/" },
  });
  assert.equal(selectUpstream({ provider: "aws", addresses: { private: "http://198.51.100.20:80" } }, opts), null, "never a public address");
});

test("[pglite] tropic serve with AWS configured runs the aws provider (AWS MOCKED): a cloud instance gets its VM", async (t) => {
  const world = new AwsWorld();
  const dataDir = freshDataDir();
  const server = await startServer(
    { dataDir, port: 0, host: "127.0.0.1", masterKey: "07".repeat(32), databaseUrl: undefined, authRateLimit: 1000, ...CONFIGURED },
    { logger: false, healthIntervalMs: 300 },
  );
  t.after(async () => {
    await server.close();
    world.restore();
    rmSync(dataDir, { recursive: true, force: true });
  });
  assert.ok(server.app.instances?.o.providers.aws, "the aws provider is registered");
  const u = await signUp(server.app);
  const res = await server.app.inject({
    method: "POST",
    url: "/api/v1/instances",
    headers: u.auth,
    payload: { name: "vm", provider: "aws", instanceType: "t3.small" },
  });
  assert.equal(res.statusCode, 201, res.body);
  const t0 = Date.now();
  while (!world.vms.size) {
    assert.ok(Date.now() - t0 < 20_000, "a VM is launched");
    await new Promise((r) => setTimeout(r, 50));
  }
  const run = world.calls("RunInstancesCommand")[0]!;
  assert.equal(run.InstanceType, "t3.small");
  assert.equal(run.ClientToken, `tropic-${res.json().id}-1`);
});

test("[pglite] the control plane killed mid-provision (after RunInstances, before the EC2 id was saved): the next one finds the one VM", async (t) => {
  const world = new AwsWorld();
  const database = await freshDatabase("pglite");
  const kek = new LocalKek(TEST_KEY);
  const config = loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000, ...CONFIGURED });
  t.after(async () => {
    await database.close();
    world.restore();
  });
  const boot = (extra: Parameters<typeof awsProviderFor>[2]) => bootAwsApp(config, database, kek, extra);
  // The first process launches the VM, then "dies" before it can save the id (it never returns from that write).
  let launched: () => void = () => {};
  const wasLaunched = new Promise<void>((r) => (launched = r));
  // (the write that never returns fails when the test ends: a promise left pending kept the file's
  // process alive for five more minutes)
  let died: (e: Error) => void = () => {};
  const first = await boot({
    saveRef: () => {
      launched();
      return new Promise((_, reject) => (died = reject));
    },
  });
  const u = await signUp(first);
  // Credits to run on: without them the next process's meter pauses the instance (a race with the adoption).
  await database.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    u.id,
    1000 * 1000,
    `grant:${u.id}`,
  ]);
  const inst = (await first.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "vm", provider: "aws" } })).json();
  await wasLaunched;
  assert.equal(world.vms.size, 1);
  const { rows: before } = await database.pool.query("SELECT provider_ref FROM instances WHERE id = $1", [inst.id]);
  assert.equal(before[0].provider_ref, `aws:us-east-1:${inst.id}:1`, "only the reference saved before the launch");
  await first.close();

  // The next process: same database, the same client token, the same VM.
  world.log.length = 0;
  const second = await boot({});
  t.after(() => second.close());
  t.after(() => died(new Error("this process died")));
  const t0 = Date.now();
  for (;;) {
    const { rows } = await database.pool.query("SELECT provider_ref, state, state_reason FROM instances WHERE id = $1", [inst.id]);
    if (rows[0].provider_ref.endsWith([...world.vms.keys()][0]) && rows[0].state === "initializing") break;
    assert.ok(Date.now() - t0 < 20_000, `adopted; last ${JSON.stringify(rows[0])} calls ${JSON.stringify(world.log.map((c) => c[0]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(world.vms.size, 1, "exactly one VM");
  assert.deepEqual(world.calls("RunInstancesCommand"), [], "nothing launched again");
  assert.deepEqual(world.calls("DescribeInstancesCommand")[0], { Filters: [{ Name: "client-token", Values: [`tropic-${inst.id}-1`] }] });
});
