// The aws provider against a MOCK of AWS's EC2 and SSM APIs (aws-sdk-client-mock; aws-world.MOCK.ts):
// the exact requests of create, start, stop and destroy; the security group's ingress revoked, then the
// seed's table applied from scratch; the idempotency token reused after a kill mid-provision (one VM);
// a destroy killed half way resumed; capacity, throttling and missing-image errors in words.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { AwsProvider, type AwsProviderOptions, type AwsSettings, clientToken, parseRef, ProviderError } from "../src/index.ts";
import { ssmParameterNameFor } from "../src/aws/user-data.ts";
import { AwsWorld, awsError, testAwsSettings } from "./aws-world.MOCK.ts";

const INSTANCE = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const OWNER = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a";
const PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx1Y2t5IGtleSBmb3IgdGVzdHMgb25seSBub3QgcmVhbA tropic-alice";
const TOKEN = `tet_${"A".repeat(43)}`;

const settings = (over: Partial<AwsSettings> = {}): AwsSettings => testAwsSettings({ proxyCidrs: ["203.0.113.10/32", "2001:db8:10::/64"], ...over });

const spec = (over: Record<string, unknown> = {}) => ({
  instanceId: INSTANCE,
  ownerId: OWNER,
  region: "us-east-1",
  instanceType: "t3.micro",
  gatewayToken: "ab".repeat(24),
  agentToken: "cd".repeat(32),
  controlPlaneUrl: "wss://tropic.example.com/api/v1/agent/connect",
  ...over,
});

let world: AwsWorld;
/** what the control plane has saved as the instance's reference (saveRef writes it, as the database would) */
let saved: string | undefined;
let sleeps: number[];

function provider(over: Partial<AwsProviderOptions> = {}, s: Partial<AwsSettings> = {}) {
  return new AwsProvider({
    settings: settings(s),
    refererUrl: "https://tropic.example.com/",
    sshPublicKeyOf: async () => PUBKEY,
    enrolmentToken: async () => TOKEN,
    saveRef: async (_id, ref) => {
      world.log.push(["saveRef", { ref }]);
      saved = ref;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    pollMs: 1,
    ...over,
  });
}

beforeEach(() => {
  world = new AwsWorld();
  saved = undefined;
  sleeps = [];
});
afterEach(() => world.restore());

test("create: the exact requests, the credential in SSM (never in user-data), the EC2 id saved before anything waits", async () => {
  const p = provider();
  const ref = p.reference(spec());
  assert.equal(ref, `aws:us-east-1:${INSTANCE}:1`);
  const obs = await p.create({ ...spec(), providerRef: ref });

  assert.deepEqual(world.names(), [
    "DescribeInstancesCommand",
    "DescribeImagesCommand",
    "DescribeSecurityGroupsCommand",
    "CreateSecurityGroupCommand",
    "ImportKeyPairCommand",
    "PutParameterCommand",
    "RunInstancesCommand",
    "saveRef",
    "AddTagsToResourceCommand",
  ]);
  assert.deepEqual(world.calls("DescribeInstancesCommand")[0], { Filters: [{ Name: "client-token", Values: [`tropic-${INSTANCE}-1`] }] });
  assert.deepEqual(world.calls("DescribeImagesCommand")[0], {
    Owners: ["self"],
    Filters: [
      { Name: "tag:tropic:image", Values: ["openclaw"] },
      { Name: "state", Values: ["available"] },
    ],
  });
  const tags = [
    { Key: "tropic:instance", Value: INSTANCE },
    { Key: "tropic:owner", Value: OWNER },
  ];
  const sg = world.calls("CreateSecurityGroupCommand")[0]!;
  assert.equal(sg.GroupName, `tropic-${INSTANCE}`);
  assert.deepEqual(sg.TagSpecifications, [{ ResourceType: "security-group", Tags: [...tags, { Key: "Name", Value: `tropic-${INSTANCE}` }] }]);
  const key = world.calls("ImportKeyPairCommand")[0]!;
  assert.equal(key.KeyName, `tropic-${INSTANCE}`);
  assert.equal(new TextDecoder().decode(key.PublicKeyMaterial as Uint8Array), PUBKEY);
  const param = ssmParameterNameFor(INSTANCE, "/tropic/instances");
  assert.deepEqual(world.calls("PutParameterCommand")[0], {
    Name: param,
    Type: "SecureString",
    Value: TOKEN,
    Overwrite: true,
    Description: `Tropic instance ${INSTANCE}: one-time enrolment token`,
  });

  const run = world.calls("RunInstancesCommand")[0]!;
  const groupId = [...world.groups.keys()][0];
  const userData = Buffer.from(run.UserData as string, "base64").toString();
  delete run.UserData;
  assert.deepEqual(run, {
    ClientToken: `tropic-${INSTANCE}-1`,
    ImageId: "ami-0bbbbbbbbbbbbbbb2", // the newest image with the tag
    InstanceType: "t3.micro",
    MinCount: 1,
    MaxCount: 1,
    KeyName: `tropic-${INSTANCE}`,
    IamInstanceProfile: { Name: "tropic-vm" },
    MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 20, VolumeType: "gp3", DeleteOnTermination: true, Encrypted: true } }],
    SecurityGroupIds: [groupId],
    TagSpecifications: [
      { ResourceType: "instance", Tags: [...tags, { Key: "Name", Value: `tropic-${INSTANCE}` }] },
      { ResourceType: "volume", Tags: tags },
    ],
  });
  // User-data says where to enrol and where the credential is; no secret of any kind.
  assert.match(userData, /^#cloud-config/);
  assert.ok(userData.includes(param) && userData.includes("https://tropic.example.com"));
  for (const secret of [TOKEN, "ab".repeat(24), "cd".repeat(32)]) assert.ok(!userData.includes(secret), "no secret in user-data");

  const ec2Id = [...world.vms.keys()][0]!;
  assert.equal(saved, `aws:us-east-1:${INSTANCE}:1:${ec2Id}`);
  assert.deepEqual(world.calls("AddTagsToResourceCommand")[0], {
    ResourceType: "Parameter",
    ResourceId: param,
    Tags: [...tags, { Key: "tropic:ec2-instance-arn", Value: `arn:aws:ec2:us-east-1:123456789012:instance/${ec2Id}` }],
  });
  // A booting VM is "running" to the control plane: its gateway's health decides initializing/running.
  assert.equal(obs.state, "running");
  assert.equal(obs.providerRef, saved);
  assert.deepEqual(obs.addresses, {
    region: "us-east-1",
    ec2InstanceId: ec2Id,
    privateIp: world.vms.get(ec2Id)!.ip,
    gateway: "http://127.0.0.1:18789",
  });
  assert.equal(obs.healthUrl, undefined, "tunnel mode: the health check goes through the agent");

  // Created again (the next pass, a restart) before the VM enrolled: adopted, nothing new launched; a
  // fresh token replaces the one that may have expired.
  world.log.length = 0;
  const again = await provider({ enrolmentToken: async () => `tet_${"B".repeat(43)}` }).create({ ...spec(), providerRef: saved });
  assert.deepEqual(world.names(), ["DescribeInstancesCommand", "PutParameterCommand"]);
  assert.deepEqual(world.calls("DescribeInstancesCommand")[0], { InstanceIds: [ec2Id] });
  assert.equal(world.params.get(param)!.value, `tet_${"B".repeat(43)}`);
  assert.equal(world.params.get(param)!.tags.length, 3, "its tags stay");
  assert.equal(again.providerRef, saved);
  assert.equal(world.vms.size, 1);
  // …and once it has enrolled: nothing but the look.
  world.log.length = 0;
  await provider({ enrolmentToken: async () => null }).create({ ...spec(), providerRef: saved });
  assert.deepEqual(world.names(), ["DescribeInstancesCommand"]);
});

test("create with a configured AMI, a subnet, an instance profile ARN and nginx reach", async () => {
  const p = provider(
    {},
    {
      images: { "eu-west-2": "ami-0aaaaaaaaaaaaaaa1" },
      subnets: { "eu-west-2": "subnet-0123456789abcdef0" },
      instanceProfile: "arn:aws:iam::123456789012:instance-profile/tropic-vm",
      reach: "nginx",
      ssmKmsKeyId: "alias/tropic-ssm",
    },
  );
  const s = spec({ region: "eu-west-2", instanceType: "t3.medium" });
  const obs = await p.create({ ...s, providerRef: p.reference(s) });
  assert.deepEqual(world.calls("DescribeImagesCommand")[0], { ImageIds: ["ami-0aaaaaaaaaaaaaaa1"] });
  assert.deepEqual(world.calls("DescribeSubnetsCommand")[0], { SubnetIds: ["subnet-0123456789abcdef0"] });
  assert.equal(world.calls("CreateSecurityGroupCommand")[0]!.VpcId, "vpc-0123456789abcdef0");
  assert.equal(world.calls("PutParameterCommand")[0]!.KeyId, "alias/tropic-ssm");
  const run = world.calls("RunInstancesCommand")[0]!;
  assert.equal(run.InstanceType, "t3.medium");
  assert.deepEqual(run.IamInstanceProfile, { Arn: "arn:aws:iam::123456789012:instance-profile/tropic-vm" });
  assert.deepEqual(run.NetworkInterfaces, [{ DeviceIndex: 0, SubnetId: "subnet-0123456789abcdef0", Groups: [[...world.groups.keys()][0]] }]);
  assert.equal(run.SecurityGroupIds, undefined);
  const ip = [...world.vms.values()][0]!.ip;
  assert.equal(obs.addresses.private, `http://${ip}:80`);
  assert.equal(obs.addresses.gateway, undefined);
  assert.equal(obs.healthUrl, `http://${ip}/healthz`);
});

test("start and stop: the exact requests; stop waits until the VM is stopped; both are no-ops when already there", async () => {
  const p = provider();
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  const ref = saved!;
  const id = parseRef(ref).ec2Id!;
  world.log.length = 0;
  await p.stop(ref);
  assert.deepEqual(world.calls("StopInstancesCommand"), [{ InstanceIds: [id] }]);
  assert.equal(world.vms.get(id)!.state, "stopped");
  assert.equal((await p.describe(ref)).state, "stopped");
  await p.stop(ref);
  assert.equal(world.calls("StopInstancesCommand").length, 1, "a stopped VM is not stopped again");
  world.log.length = 0;
  await p.start(ref);
  assert.deepEqual(world.names(), ["DescribeInstancesCommand", "StartInstancesCommand"]);
  assert.deepEqual(world.calls("StartInstancesCommand"), [{ InstanceIds: [id] }]);
  await p.start(ref);
  assert.equal(world.calls("StartInstancesCommand").length, 1, "a pending/running VM is not started again");
  assert.equal((await p.describe(ref)).state, "running");
});

test("network rules: every ingress rule revoked, then exactly the seed's table; egress all; an allowlist change re-applies", async () => {
  const p = provider();
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  const ref = saved!;
  const g = [...world.groups.values()][0]!;
  // Stale rules someone added by hand (the seed: "stale rules don't accumulate").
  g.ingress = [
    { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    {
      IpProtocol: "tcp",
      FromPort: 3389,
      ToPort: 3389,
      IpRanges: [{ CidrIp: "198.51.100.0/24" }],
      Ipv6Ranges: [],
      PrefixListIds: [],
      UserIdGroupPairs: [],
    },
  ];
  world.log.length = 0;
  await p.applyNetworkRules(ref, { sshAllowlist: ["192.0.2.7/32", "2001:db8::7/128"], gatewayFrom: ["127.0.0.1/32"] });
  assert.deepEqual(world.names(), ["DescribeSecurityGroupsCommand", "RevokeSecurityGroupIngressCommand", "AuthorizeSecurityGroupIngressCommand"]);
  assert.deepEqual(world.calls("RevokeSecurityGroupIngressCommand")[0], {
    GroupId: g.id,
    IpPermissions: [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      { IpProtocol: "tcp", FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: "198.51.100.0/24" }] },
    ],
  });
  const proxy = (d: string) => ({
    IpRanges: [{ CidrIp: "203.0.113.10/32", Description: d }],
    Ipv6Ranges: [{ CidrIpv6: "2001:db8:10::/64", Description: d }],
  });
  const table = (ssh: { IpRanges: unknown[]; Ipv6Ranges: unknown[] }) => [
    { IpProtocol: "tcp", FromPort: 22, ToPort: 22, ...ssh },
    { IpProtocol: "tcp", FromPort: 80, ToPort: 80, ...proxy("nginx from Tropic's proxy") },
    { IpProtocol: "tcp", FromPort: 443, ToPort: 443, ...proxy("HTTPS from Tropic's proxy") },
    { IpProtocol: "tcp", FromPort: 18789, ToPort: 18789, ...proxy("gateway from Tropic's proxy") },
  ];
  const ssh1 = {
    IpRanges: [{ CidrIp: "192.0.2.7/32", Description: "SSH from the owner's allowlist" }],
    Ipv6Ranges: [{ CidrIpv6: "2001:db8::7/128", Description: "SSH from the owner's allowlist" }],
  };
  assert.deepEqual(world.calls("AuthorizeSecurityGroupIngressCommand")[0], { GroupId: g.id, IpPermissions: table(ssh1) });
  // What the group allows now is the table and nothing else (3389 and 22-from-anywhere are gone); egress is all.
  assert.deepEqual(world.groups.get(g.id)!.ingress, table(ssh1));
  assert.deepEqual(world.groups.get(g.id)!.egress, [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }]);

  // The allowlist changes: revoke everything again, re-apply with the new list (no accumulation).
  world.log.length = 0;
  await p.applyNetworkRules(ref, { sshAllowlist: ["198.51.100.9/32"], gatewayFrom: [] });
  assert.deepEqual(world.names(), ["DescribeSecurityGroupsCommand", "RevokeSecurityGroupIngressCommand", "AuthorizeSecurityGroupIngressCommand"]);
  const ssh2 = { IpRanges: [{ CidrIp: "198.51.100.9/32", Description: "SSH from the owner's allowlist" }], Ipv6Ranges: [] };
  assert.deepEqual(world.groups.get(g.id)!.ingress, table(ssh2));
  // An empty allowlist: no SSH at all; the proxy ports stay.
  await p.applyNetworkRules(ref, { sshAllowlist: [], gatewayFrom: [] });
  assert.deepEqual(
    world.groups.get(g.id)!.ingress.map((r) => r.FromPort),
    [80, 443, 18789],
  );
  // A bad CIDR changes nothing.
  world.log.length = 0;
  await assert.rejects(p.applyNetworkRules(ref, { sshAllowlist: ["not-an-ip"], gatewayFrom: [] }), /not a CIDR block: not-an-ip/);
  assert.deepEqual(world.names(), []);
  // A group that lost its all-egress rule gets it back.
  world.groups.get(g.id)!.egress = [];
  await p.applyNetworkRules(ref, { sshAllowlist: [], gatewayFrom: [] });
  assert.deepEqual(world.calls("AuthorizeSecurityGroupEgressCommand"), [
    { GroupId: g.id, IpPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }] },
  ]);
});

test("killed mid-provision: the retry reuses the idempotency token and finds the one VM", async () => {
  // Kill 1: RunInstances reached AWS, the control plane died before it heard the answer.
  const p1 = provider();
  const s = spec();
  const ref = p1.reference(s);
  saved = ref; // the reconciler saves the reference before calling create
  let killed = false;
  const dying = provider({
    saveRef: async () => {
      killed = true;
      throw new Error("killed");
    },
  });
  await assert.rejects(dying.create({ ...s, providerRef: ref }), /killed/);
  assert.ok(killed);
  assert.equal(world.vms.size, 1, "one VM launched");
  // A new control plane process: same saved reference (no EC2 id in it), new clients.
  world.log.length = 0;
  const p2 = provider();
  const obs = await p2.create({ ...s, providerRef: saved });
  assert.equal(world.vms.size, 1, "still exactly one VM");
  assert.deepEqual(world.names(["RunInstancesCommand"]), [], "found by its client token: not launched again");
  assert.equal(obs.addresses.ec2InstanceId, [...world.vms.keys()][0]);
  assert.equal(saved, `aws:us-east-1:${INSTANCE}:1:${[...world.vms.keys()][0]}`);

  // Kill 2: AWS launched the VM but the answer was lost on the way back; the next try does not see it yet
  // (EC2 is eventually consistent right after a launch), so it launches again: with the same token, AWS
  // answers with the same VM.
  const w2 = INSTANCE.replace("6f", "7f");
  const s2 = spec({ instanceId: w2 });
  const ref2 = p2.reference(s2);
  world.lose("RunInstancesCommand", awsError("TimeoutError", "socket hang up"));
  await assert.rejects(p2.create({ ...s2, providerRef: ref2 }), /socket hang up/);
  world.hideVms = 1;
  world.log.length = 0;
  const obs2 = await provider().create({ ...s2, providerRef: ref2 });
  assert.deepEqual(
    world.calls("RunInstancesCommand").map((c) => c.ClientToken),
    [clientToken({ instanceId: w2, attempt: 1 })],
  );
  const mine = [...world.vms.values()].filter((v) => v.tags.some((t) => t.Value === w2));
  assert.equal(mine.length, 1, "exactly one VM for the instance");
  assert.equal(obs2.addresses.ec2InstanceId, mine[0]!.id);
  assert.equal(world.vms.size, 2);
});

test("a terminated VM starts a new provisioning attempt with a new token, saved before the launch", async () => {
  const p = provider();
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  const first = parseRef(saved!).ec2Id!;
  world.vms.get(first)!.state = "terminated"; // terminated outside Tropic
  assert.equal((await p.describe(saved!)).state, "gone");
  world.log.length = 0;
  const obs = await p.create({ ...spec(), providerRef: saved });
  const names = world.names();
  assert.equal(names[1], "saveRef", "the new attempt is saved before anything is launched");
  assert.equal(world.log[1]![1].ref, `aws:us-east-1:${INSTANCE}:2`);
  assert.deepEqual(
    world.calls("RunInstancesCommand").map((c) => c.ClientToken),
    [`tropic-${INSTANCE}-2`],
  );
  assert.equal(world.vms.size, 2);
  assert.notEqual(obs.addresses.ec2InstanceId, first);
  assert.equal(saved, `aws:us-east-1:${INSTANCE}:2:${obs.addresses.ec2InstanceId}`);
});

test("destroy: terminate and wait, then the security group, the SSM parameter and the key; resumed after a kill", async () => {
  const p = provider();
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  const ref = saved!;
  const id = parseRef(ref).ec2Id!;
  world.settleLooks = 3;
  // Killed while waiting for the termination.
  let looks = 0;
  const dying = provider({
    sleep: async () => {
      if (++looks === 2) throw new Error("killed");
    },
  });
  world.log.length = 0;
  await assert.rejects(dying.destroy(ref), /killed/);
  assert.deepEqual(world.calls("TerminateInstancesCommand"), [{ InstanceIds: [id] }]);
  assert.deepEqual(
    world.names(["DeleteSecurityGroupCommand", "DeleteParameterCommand", "DeleteKeyPairCommand"]),
    [],
    "phase two waits for phase one",
  );
  assert.equal(world.groups.size, 1);
  assert.ok(world.params.size === 1 && world.keys.size === 1);

  // The next pass (a new process) resumes: no second terminate, waits, then phase two.
  world.log.length = 0;
  await provider().destroy(ref);
  assert.deepEqual(world.calls("TerminateInstancesCommand"), [], "a shutting-down VM is not terminated again");
  const order = world.names().filter((n) => n !== "DescribeInstancesCommand");
  assert.deepEqual(order, ["DescribeSecurityGroupsCommand", "DeleteSecurityGroupCommand", "DeleteParameterCommand", "DeleteKeyPairCommand"]);
  const lastDescribe = world.names().lastIndexOf("DescribeInstancesCommand");
  assert.ok(lastDescribe < world.names().indexOf("DeleteSecurityGroupCommand"));
  assert.equal(world.vms.get(id)!.state, "terminated");
  assert.deepEqual(world.calls("DeleteParameterCommand"), [{ Name: ssmParameterNameFor(INSTANCE, "/tropic/instances") }]);
  assert.deepEqual(world.calls("DeleteKeyPairCommand"), [{ KeyName: `tropic-${INSTANCE}` }]);
  assert.equal(world.groups.size, 0);
  assert.equal(world.params.size, 0);
  assert.equal(world.keys.size, 0);
  // Once more: a no-op that succeeds.
  await provider().destroy(ref);
});

test("destroy finds every VM of the instance by its tag, even one whose id was never saved", async () => {
  const p = provider({ saveRef: async () => {} });
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  const ref = p.reference(spec()); // no EC2 id in it
  world.log.length = 0;
  await p.destroy(ref);
  assert.deepEqual(world.calls("DescribeInstancesCommand")[0], { Filters: [{ Name: "tag:tropic:instance", Values: [INSTANCE] }] });
  assert.equal([...world.vms.values()][0]!.state, "terminated");
  assert.equal(world.groups.size, 0);
});

test("capacity: retried with back-off, then failed with AWS's reason in words", async () => {
  const p = provider();
  const s = spec();
  world.fail(
    "RunInstancesCommand",
    awsError(
      "InsufficientInstanceCapacity",
      "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a).",
    ),
    awsError("InsufficientInstanceCapacity"),
  );
  const obs = await p.create({ ...s, providerRef: p.reference(s) });
  assert.equal(obs.state, "running");
  assert.deepEqual(sleeps, [1000, 2000], "two back-offs, doubling");
  assert.equal(world.calls("RunInstancesCommand").length, 3);
  assert.equal(new Set(world.calls("RunInstancesCommand").map((c) => c.ClientToken)).size, 1, "the same token on every try");
  assert.equal(world.vms.size, 1);

  const w = provider({ retries: 3 });
  const s2 = spec({ instanceId: INSTANCE.replace("6f", "8f") });
  sleeps = [];
  for (let i = 0; i < 3; i++)
    world.fail(
      "RunInstancesCommand",
      awsError("InsufficientInstanceCapacity", "We currently do not have sufficient t3.micro capacity in us-east-1a."),
    );
  const err = await w.create({ ...s2, providerRef: w.reference(s2) }).catch((e) => e);
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, "failed");
  assert.match(err.message, /AWS has no capacity for this instance type in this region right now/);
  assert.match(err.message, /tried 3 times with back-off/);
  assert.match(err.message, /sufficient t3\.micro capacity/);
  assert.deepEqual(sleeps, [1000, 2000]);
});

test("throttling: retried with back-off; a throttle that does not end is reported", async () => {
  const p = provider();
  world.fail("DescribeInstancesCommand", awsError("RequestLimitExceeded", "Request limit exceeded."));
  world.fail("PutParameterCommand", awsError("ThrottlingException", "Rate exceeded"));
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  assert.deepEqual(sleeps, [1000, 1000]);
  assert.equal(world.vms.size, 1);

  for (let i = 0; i < 5; i++) world.fail("StopInstancesCommand", awsError("RequestLimitExceeded", "Request limit exceeded."));
  await assert.rejects(p.stop(saved!), (err: Error) => {
    assert.match(err.message, /AWS is throttling Tropic's requests \(RequestLimitExceeded\) while trying to stop the VM i-/);
    assert.match(err.message, /tried 5 times/);
    return true;
  });
  // Not retried: a refusal that will not go away by itself.
  sleeps = [];
  world.fail("StartInstancesCommand", awsError("UnauthorizedOperation", "You are not authorized to perform this operation."));
  world.vms.get(parseRef(saved!).ec2Id!)!.state = "stopped";
  await assert.rejects(p.start(saved!), /AWS refused to let Tropic start the VM i-\w+: UnauthorizedOperation: You are not authorized/);
  assert.deepEqual(sleeps, []);
});

test("a missing image fails clearly, before anything is created", async () => {
  world.images = [];
  const p = provider();
  await assert.rejects(p.create({ ...spec(), providerRef: p.reference(spec()) }), (err: ProviderError) => {
    assert.equal(err.code, "failed");
    assert.match(err.message, /no Tropic image in us-east-1: no available AMI of this account is tagged tropic:image=openclaw/);
    assert.match(err.message, /TROPIC_AWS_IMAGES=us-east-1=ami-/);
    return true;
  });
  const configured = provider({}, { images: { "us-east-1": "ami-0ccccccccccccccc3" } });
  await assert.rejects(
    configured.create({ ...spec(), providerRef: configured.reference(spec()) }),
    /the image ami-0ccccccccccccccc3 configured for us-east-1 \(TROPIC_AWS_IMAGES\) does not exist/,
  );
  assert.deepEqual(world.names(["CreateSecurityGroupCommand", "ImportKeyPairCommand", "PutParameterCommand", "RunInstancesCommand"]), []);
});

test("without configuration a create says what to set; an enrolled instance's parameter is left alone", async () => {
  const p = provider({}, { instanceProfile: undefined, proxyCidrs: [] });
  assert.deepEqual(p.missing(), ["TROPIC_AWS_INSTANCE_PROFILE", "TROPIC_AWS_PROXY_CIDRS"]);
  await assert.rejects(
    p.create({ ...spec(), providerRef: p.reference(spec()) }),
    /AWS is not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE and TROPIC_AWS_PROXY_CIDRS/,
  );
  assert.deepEqual(world.names(), []);

  const enrolled = provider({ enrolmentToken: async () => null });
  await enrolled.create({ ...spec(), providerRef: enrolled.reference(spec()) });
  assert.deepEqual(world.names(["PutParameterCommand", "AddTagsToResourceCommand"]), []);
});

test("SSH: the key is re-imported on a push and at every launch (what a launch gets is the current key)", async () => {
  const p = provider();
  await p.create({ ...spec(), providerRef: p.reference(spec()) });
  world.log.length = 0;
  const next = PUBKEY.replace("Lucky", "Other").replace("EGtleSBm", "EGtleSBn");
  await p.pushSshKeys(saved!, [next]);
  assert.deepEqual(world.names(["DeleteKeyPairCommand", "ImportKeyPairCommand"]), [
    "ImportKeyPairCommand",
    "DeleteKeyPairCommand",
    "ImportKeyPairCommand",
  ]);
  assert.equal(world.keys.get(`tropic-${INSTANCE}`), next);
  // A VM launched again later (a new attempt) gets the key that is current then.
  const rotated = next.replace("Other", "Third");
  world.vms.get(parseRef(saved!).ec2Id!)!.state = "terminated";
  await provider({ sshPublicKeyOf: async () => rotated }).create({ ...spec(), providerRef: saved });
  assert.equal(world.keys.get(`tropic-${INSTANCE}`), rotated);
  assert.equal(world.calls("RunInstancesCommand").at(-1)!.KeyName, `tropic-${INSTANCE}`);
});
