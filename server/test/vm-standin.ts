// The cloud stand-in of the VM image's test and benchmark (issue 17; server/test/vm-image.e2e.test.ts,
// bench/vm-image.bench.ts): the control plane with the `aws` provider, AWS's API mocked (aws-sdk-client-mock
// for EC2 and SSM's PutParameter; a MOCK metadata service (IMDSv2) and a MOCK SSM endpoint that checks
// each request's SigV4 with the AWS SDK's own signer), whose RunInstances boots the "VM": a Debian host
// (booted-host.ts) whose root filesystem deploy/image/provision.sh provisioned (in a chroot, as Packer's
// shell step on the build VM) and whose cloud-init NoCloud seed is the user-data the provider rendered.
// The VM gets a private (VPC-like) address 10.254.<slot>.2; the security group's rules the provider sends to
// AuthorizeSecurityGroupIngress are rendered as nftables rules in front of it (providers/src/aws/nftables.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type Instance,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  type SecurityGroup,
} from "@aws-sdk/client-ec2";
import { AddTagsToResourceCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SignatureV4 } from "@smithy/signature-v4";
import { mockClient } from "aws-sdk-client-mock";
import { eq } from "drizzle-orm";
import { AwsProvider, type AwsProviderOptions } from "@tropic/providers/aws/provider.ts";
import { type AwsSettings, loadAwsSettings } from "@tropic/providers/aws/settings.ts";
import { renderSecurityGroupNft } from "@tropic/providers/aws/nftables.ts";
import { buildApp, LOG_REDACT } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import type { Database } from "../src/db/connect.ts";
import { instances } from "../src/db/schema.ts";
import { hostBundles } from "../src/hosts/bundle.ts";
import { issueEnrolment } from "../src/hosts/enrolment.ts";
import { InstanceManager } from "../src/instances/manager.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { type BootedHost, bootHost } from "./booted-host.ts";
import { freshDatabase, TEST_KEY } from "./harness.ts";
import { Api, ROOT } from "./instances-harness.ts";

export const REGION = "eu-west-2";
export const VM_ID = "i-0a1b2c3d4e5f60718";

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = "";
    req.on("data", (d) => (s += d));
    req.on("end", () => resolve(s));
  });
const listenAll = (s: Server) => new Promise<number>((r) => s.listen(0, "0.0.0.0", () => r((s.address() as { port: number }).port)));

/** The AWS SDK's hash shape over node:crypto, to check the VM's signatures with the SDK's own SignatureV4. */
class Sha256 {
  private h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(d: string | Uint8Array) {
    this.h.update(d);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

/** curl from this machine (optionally from a given source address): the exit code and the HTTP status. */
export function curl(url: string, opts: { from?: string; referer?: string; timeoutS?: number } = {}): { code: number; status: number } {
  const args = [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "--connect-timeout",
    String(opts.timeoutS ?? 2),
    "-m",
    String((opts.timeoutS ?? 2) + 3),
  ];
  if (opts.from) args.push("--interface", opts.from);
  if (opts.referer) args.push("-H", `Referer: ${opts.referer}`);
  const r = spawnSync("curl", [...args, url], { encoding: "utf8" });
  return { code: r.status ?? -1, status: Number(r.stdout) || 0 };
}

export interface CloudStandIn {
  /** the booted "VM" (null until RunInstances) */
  readonly host: BootedHost | null;
  /** its private address */
  readonly vmIp: string;
  /** the host's side of its veth */
  readonly iface: string;
  /** the mocked security group */
  readonly sg: SecurityGroup | null;
  api: Api;
  port: number;
  publicUrl: string;
  provider: AwsProvider;
  settings: AwsSettings;
  database: Database & { dataDir: string };
  /** the mocked AWS calls, in order */
  calls: string[];
  /** what the MOCK IMDS and SSM saw */
  seen: {
    imdsV1Refused: number;
    imdsCreds: number;
    ssm: { name: string; withDecryption: boolean; signature: "valid" | "invalid" | "none"; token: boolean }[];
  };
  /** the MOCK SSM's parameters */
  parameters: Map<string, string>;
  timings: { runInstancesAt: number; bootMs: number; setupMs: number; provisionMs: number; bundleMs: number };
  /** the control plane's log lines */
  logs: string[];
  imdsPort: number;
}

/** Starts it all; everything is cleaned up through `t.after` (a test context, or the benchmark's list). */
export async function cloudStandIn(t: { after(fn: () => unknown): void; diagnostic?(s: string): void }): Promise<CloudStandIn> {
  // ---- the MOCK metadata service (IMDSv2 only) and the MOCK SSM endpoint: the VM reaches them on the host's side of its veth
  const role = "tropic-vm-role";
  const roleCreds = {
    AccessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
    SecretAccessKey: randomBytes(30).toString("base64"),
    Token: randomBytes(60).toString("base64"),
  };
  const imdsTokens = new Set<string>();
  const seen = {
    imdsV1Refused: 0,
    imdsCreds: 0,
    ssm: [] as { name: string; withDecryption: boolean; signature: "valid" | "invalid" | "none"; token: boolean }[],
  };
  const imds = createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      const tok = randomBytes(24).toString("base64");
      imdsTokens.add(tok);
      return res.writeHead(200, { "content-type": "text/plain" }).end(tok);
    }
    // IMDSv2 required (the provider launches with HttpTokens=required): no session token, no answer
    if (!imdsTokens.has(String(req.headers["x-aws-ec2-metadata-token"] ?? ""))) {
      seen.imdsV1Refused++;
      return res.writeHead(401).end();
    }
    if (req.url === "/latest/meta-data/iam/security-credentials/") return res.writeHead(200).end(role);
    if (req.url === `/latest/meta-data/iam/security-credentials/${role}`) {
      seen.imdsCreds++;
      return res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ Code: "Success", Type: "AWS-HMAC", ...roleCreds, Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() }));
    }
    res.writeHead(404).end();
  });
  const parameters = new Map<string, string>();
  const ssmServer = createServer(async (req, res) => {
    const text = await body(req);
    const auth = String(req.headers.authorization ?? "");
    let signature: "valid" | "invalid" | "none" = "none";
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/ssm\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
    if (m) {
      // Checked with the AWS SDK's own signer: the signed headers as received, the same date and credentials
      const headers: Record<string, string> = {};
      for (const h of m[4]!.split(";")) headers[h] = String(req.headers[h] ?? "");
      const d = String(req.headers["x-amz-date"]);
      const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
      const [hostname, port] = String(req.headers.host).split(":");
      const signed = await new SignatureV4({
        credentials: { accessKeyId: roleCreds.AccessKeyId, secretAccessKey: roleCreds.SecretAccessKey, sessionToken: roleCreds.Token },
        region: m[3]!,
        service: "ssm",
        sha256: Sha256 as never,
      }).sign(
        {
          method: req.method!,
          protocol: "http:",
          hostname: hostname!,
          ...(port ? { port: Number(port) } : {}),
          path: "/",
          query: {},
          headers,
          body: text,
        },
        { signingDate: date },
      );
      signature = m[1] === roleCreds.AccessKeyId && m[3] === REGION && signed.headers.authorization === auth ? "valid" : "invalid";
    }
    let input: { Name?: string; WithDecryption?: boolean } = {};
    try {
      input = JSON.parse(text);
    } catch {}
    seen.ssm.push({
      name: String(input.Name),
      withDecryption: input.WithDecryption === true,
      signature,
      token: req.headers["x-amz-security-token"] === roleCreds.Token,
    });
    const json = (code: number, o: object) => res.writeHead(code, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(o));
    if (signature !== "valid")
      return json(400, {
        __type: "com.amazon.coral.service#InvalidSignatureException",
        message: "The request signature we calculated does not match",
      });
    if (req.headers["x-amz-target"] !== "AmazonSSM.GetParameter") return json(400, { __type: "com.amazon.coral.service#UnknownOperationException" });
    const value = parameters.get(String(input.Name));
    if (value === undefined) return json(400, { __type: "com.amazonaws.ssm#ParameterNotFound", message: "" });
    json(200, { Parameter: { Name: input.Name, Type: "SecureString", Value: input.WithDecryption ? value : "AQICAHencrypted==", Version: 1 } });
  });
  const imdsPort = await listenAll(imds);
  const ssmPort = await listenAll(ssmServer);
  t.after(() => {
    imds.close();
    ssmServer.close();
  });

  // ---- the control plane, with the aws provider (AWS's API mocked) and the real reconciler
  const database = await freshDatabase("pglite");
  const kek = new LocalKek(TEST_KEY);
  const tb = Date.now();
  const manifest = await hostBundles(database.dataDir).manifest();
  const bundle = manifest.platforms["linux-x64"]!;
  t.diagnostic?.(`host bundle ${bundle.file} ready in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
  const settings = loadAwsSettings({
    TROPIC_AWS_REGIONS: REGION,
    TROPIC_AWS_IMAGES: `${REGION}=ami-0123456789abcdef0`,
    TROPIC_AWS_INSTANCE_PROFILE: "tropic-vm",
    TROPIC_AWS_PROXY_CIDRS: "192.0.2.10/32", // replaced by the proxy's real address once the VM's network exists
    TROPIC_AWS_REACH: "nginx",
  } as NodeJS.ProcessEnv);

  let host: BootedHost | null = null;
  let vm: Instance | null = null;
  let sg: SecurityGroup | null = null;
  let iface = "";
  let vmIp = ""; // the VM's private address (its VPC address: 10.254.<slot>.2, beside the test host's own)
  const sgTable = `tropic_sg_${process.pid}`;
  const timings = { runInstancesAt: 0, bootMs: 0, setupMs: 0, provisionMs: 0, bundleMs: Date.now() - tb };
  const calls: string[] = [];
  const applySg = (perms: IpPermission[]) => {
    if (!host) return;
    const nft = renderSecurityGroupNft({ table: sgTable, iface, vmAddress: vmIp, ingress: perms });
    const r = spawnSync("nft", ["-f", "-"], { input: nft, encoding: "utf8" });
    assert.equal(r.status, 0, `nft: ${r.stderr}\n${nft}`);
  };
  t.after(() => void spawnSync("nft", ["delete", "table", "inet", sgTable], { stdio: "ignore" }));

  /** The image: provision.sh on the VM's root filesystem (chroot), as Packer runs it on the build VM. */
  const provision = (root: string) => {
    const p0 = Date.now();
    // the host's side of the veth, as this VM's /etc/hosts names it (tropic-control)
    const hostAddress = /^(\S+)\ttropic-control$/m.exec(readFileSync(join(root, "etc/hosts"), "utf8"))![1]!;
    const dir = join(root, "tmp/tropic-image");
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(join(ROOT, "deploy/image"))) copyFileSync(join(ROOT, "deploy/image", f), join(dir, f));
    copyFileSync(join(database.dataDir, "host-bundles", manifest.version, bundle.file), join(root, "tmp", bundle.file));
    writeFileSync(
      join(dir, "aws-endpoints.json"),
      JSON.stringify({ imds: `http://${hostAddress}:${imdsPort}`, ssm: `http://${hostAddress}:${ssmPort}` }),
    );
    const r = spawnSync(
      "chroot",
      [
        root,
        "/bin/sh",
        "/tmp/tropic-image/provision.sh",
        "--bundle",
        `/tmp/${bundle.file}`,
        "--skip-desktop",
        "--test-endpoints",
        "/tmp/tropic-image/aws-endpoints.json",
      ],
      { encoding: "utf8", env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" }, timeout: 5 * 60_000 },
    );
    rmSync(join(root, "tmp", bundle.file), { force: true });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 0, `provision.sh failed:\n${r.stdout}${r.stderr}`);
    timings.provisionMs = Date.now() - p0;
  };

  const ec2s = new Map<string, EC2Client>();
  const ec2For = (region: string) => {
    let c = ec2s.get(region);
    if (c) return c;
    c = new EC2Client({ region, credentials: { accessKeyId: "AKIDMOCK", secretAccessKey: "mock" } });
    const mock = mockClient(c);
    mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "available", RootDeviceName: "/dev/sda1" }] });
    mock.on(DescribeInstancesCommand).callsFake(async () => ({ Reservations: vm ? [{ Instances: [vm] }] : [] }));
    mock.on(DescribeSecurityGroupsCommand).callsFake(async () => ({ SecurityGroups: sg ? [sg] : [] }));
    mock.on(CreateSecurityGroupCommand).callsFake(async () => {
      calls.push("CreateSecurityGroup");
      sg = { GroupId: "sg-0123456789abcdef0", IpPermissions: [], IpPermissionsEgress: [] };
      return { GroupId: sg.GroupId };
    });
    mock.on(RevokeSecurityGroupIngressCommand).callsFake(async () => {
      calls.push("RevokeSecurityGroupIngress");
      sg!.IpPermissions = [];
      applySg([]);
      return {};
    });
    mock.on(AuthorizeSecurityGroupIngressCommand).callsFake(async (input: { IpPermissions: IpPermission[] }) => {
      calls.push("AuthorizeSecurityGroupIngress");
      sg!.IpPermissions = input.IpPermissions;
      applySg(input.IpPermissions); // the same rule set, in front of the stand-in VM
      return {};
    });
    mock.on(AuthorizeSecurityGroupEgressCommand).callsFake(async (input: { IpPermissions: IpPermission[] }) => {
      sg!.IpPermissionsEgress = input.IpPermissions;
      return {};
    });
    mock.on(RunInstancesCommand).callsFake(async (input: { UserData?: string; MetadataOptions?: { HttpTokens?: string } }) => {
      calls.push("RunInstances");
      assert.equal(input.MetadataOptions?.HttpTokens, "required", "IMDSv2 required");
      timings.runInstancesAt = Date.now();
      // The "VM": booted from the image with the provider's user-data as its cloud-init seed.
      const userData = Buffer.from(input.UserData ?? "", "base64").toString("utf8");
      host = await bootHost({
        t,
        name: "ip-10-0-1-23",
        seed: { userData, metaData: `instance-id: ${VM_ID}\nlocal-hostname: ip-10-0-1-23\n` },
        prepare: provision,
        timeoutMs: 8 * 60_000,
      });
      timings.bootMs = host.bootMs;
      timings.setupMs = host.setupMs;
      const slot = Number(host.netns.replace("tropic-host-", ""));
      iface = `th${slot}h`;
      // A private (VPC-like) address for the VM, which Tropic's proxy reaches from the host's side of the veth
      vmIp = `10.254.${slot % 256}.2`;
      const net = spawnSync(
        "sh",
        ["-c", `set -e\nip -n ${host.netns} addr add ${vmIp}/32 dev eth0\nip route add ${vmIp}/32 dev ${iface} src ${host.hostAddress}`],
        { encoding: "utf8" },
      );
      assert.equal(net.status, 0, net.stderr);
      // Tropic's proxy is this machine at the host's side of the veth
      settings.proxyCidrs = [`${host.hostAddress}/32`];
      vm = { InstanceId: VM_ID, State: { Name: "running", Code: 16 }, PrivateIpAddress: vmIp, Tags: [] };
      return { OwnerId: "123456789012", Instances: [{ ...vm, State: { Name: "pending", Code: 0 } }] };
    });
    ec2s.set(region, c);
    return c;
  };
  const ssmClient = new SSMClient({ region: REGION, credentials: { accessKeyId: "AKIDMOCK", secretAccessKey: "mock" } });
  const ssmMock = mockClient(ssmClient);
  ssmMock.on(PutParameterCommand).callsFake(async (input: { Name: string; Value: string; Type: string }) => {
    calls.push(`PutParameter ${input.Type}`);
    parameters.set(input.Name, input.Value);
    return { Version: 1 };
  });
  ssmMock.on(AddTagsToResourceCommand).resolves({});

  const providerOptions: AwsProviderOptions = {
    settings,
    sshPublicKeyOf: async () => undefined,
    enrolmentToken: async (instanceId, ownerId) => {
      const [row] = await database.db.select({ host: instances.host }).from(instances).where(eq(instances.id, instanceId));
      return row?.host ? null : (await issueEnrolment(database.db, ownerId, instanceId)).token;
    },
    saveRef: async (instanceId, ref) => {
      await database.db.update(instances).set({ providerRef: ref }).where(eq(instances.id, instanceId));
    },
    ec2: ec2For,
    ssm: () => ssmClient,
    pollMs: 200,
  };
  const provider = new AwsProvider(providerOptions);
  const port = await new Promise<number>((r) => {
    const s = createServer().listen(0, "0.0.0.0", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  // The control plane's public URL, as the VM reaches it (tropic-control in its /etc/hosts): the Referer its nginx wants
  const publicUrl = `http://tropic-control:${port}`;
  providerOptions.refererUrl = publicUrl;
  const logs: string[] = [];
  const app = await buildApp({
    config: loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000, publicUrl, port, aws: settings }),
    database,
    kek,
    logger: { level: "info", redact: LOG_REDACT, stream: { write: (s: string) => void logs.push(s) } },
    instances: (log) =>
      new InstanceManager({
        database,
        kek,
        providers: { aws: provider },
        agentUrl: () => `ws://tropic-control:${port}`,
        log,
        healthIntervalMs: 2000,
      }),
  });
  // On every address: the VM reaches the control plane at the host's side of its veth (tropic-control in its /etc/hosts)
  await app.listen({ port, host: "0.0.0.0" });
  await app.instances!.start();
  t.after(async () => {
    // the VM first (its agent would keep a connection to the closing server open), then the control plane
    await (host as BootedHost | null)?.cleanup();
    await app.close().catch(() => {});
    await database.close().catch(() => {});
    rmSync(database.dataDir, { recursive: true, force: true });
  });
  const api = await new Api(`http://127.0.0.1:${port}`).as("cloud-owner@example.com");
  // Credits for a cloud VM (it costs them; the meter stops an instance whose owner has none)
  const owner = (await database.pool.query("SELECT id FROM users WHERE email = $1", ["cloud-owner@example.com"])).rows[0].id;
  await database.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    owner,
    1_000_000,
    "vm-image-test",
  ]);

  return {
    get host() {
      return host;
    },
    get vmIp() {
      return vmIp;
    },
    get iface() {
      return iface;
    },
    get sg() {
      return sg;
    },
    api,
    port,
    publicUrl,
    provider,
    settings,
    database,
    calls,
    seen,
    parameters,
    timings,
    logs,
    imdsPort,
  };
}

export interface Footprint {
  /** RSS of every process on the VM, MB */
  totalMb: number;
  /** RSS by systemd unit (processes of a unit's cgroup summed), MB */
  byUnit: Record<string, number>;
  /** the gateway's and the agent's services (with their children) */
  gatewayMb: number;
  agentMb: number;
  /** everything else: what the image itself costs before any instance runs */
  imageMb: number;
  /** the same by PSS (shared pages, e.g. one Node binary in several processes, counted once) */
  pss: { totalMb: number; gatewayMb: number; agentMb: number; imageMb: number };
  /** the root filesystem in use, and the baked bundle's part of it, MB */
  diskMb: number;
  bundleMb: number;
}

/** Memory (RSS by unit) and disk of the VM as it runs now. */
export async function footprint(h: BootedHost): Promise<Footprint> {
  const ps = await h.exec(
    "ps -eo rss=,unit= ; echo ---; du -sxm / | cut -f1; du -sxm /opt/tropic | cut -f1; echo ---; " +
      'for p in $(ps -eo pid=); do s=$(awk \'/^Pss:/{print $2}\' /proc/$p/smaps_rollup 2>/dev/null); [ -n "$s" ] && echo "$s $(ps -o unit= -p $p)"; done',
  );
  const [procs = "", du = "", pss = ""] = ps.stdout.split("---\n");
  const pssByUnit: Record<string, number> = {};
  for (const line of pss.trim().split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) pssByUnit[m[2]!] = (pssByUnit[m[2]!] ?? 0) + Number(m[1]) / 1024;
  }
  const byUnit: Record<string, number> = {};
  for (const line of procs.trim().split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (!m) continue;
    byUnit[m[2]!] = (byUnit[m[2]!] ?? 0) + Number(m[1]) / 1024;
  }
  const totalMb = Object.values(byUnit).reduce((a, b) => a + b, 0);
  const gatewayMb = byUnit["openclaw-gateway.service"] ?? 0;
  const agentMb = byUnit["tropic-agent.service"] ?? 0;
  const [diskMb = 0, bundleMb = 0] = du.trim().split("\n").map(Number);
  const pssTotal = Object.values(pssByUnit).reduce((a, b) => a + b, 0);
  const pssGateway = pssByUnit["openclaw-gateway.service"] ?? 0;
  const pssAgent = pssByUnit["tropic-agent.service"] ?? 0;
  return {
    totalMb,
    byUnit,
    gatewayMb,
    agentMb,
    imageMb: totalMb - gatewayMb - agentMb,
    pss: { totalMb: pssTotal, gatewayMb: pssGateway, agentMb: pssAgent, imageMb: pssTotal - pssGateway - pssAgent },
    diskMb,
    bundleMb,
  };
}
