// The VM image's pieces that need no booted host (issue 17, docs/vm-image.md): the user-data the provider
// renders, the security group as nftables rules, the VM's SigV4 signer (checked against the AWS SDK's own),
// its endpoint override (a test image's only), the Packer template (Debian's packer when installed, else
// structurally) and the provisioning scripts' syntax. The booted-host test is server/test/vm-image.e2e.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SignatureV4 } from "@smithy/signature-v4";
import { renderSecurityGroupNft } from "../src/aws/nftables.ts";
import { controlPlaneBase, renderUserData, ssmParameterNameFor } from "../src/aws/user-data.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const IMAGE = join(ROOT, "deploy", "image");
const ID = "3f0c1f9e-8d1a-4c55-9a57-0b9f2f1d7a10";
const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

// (plain ESM the VM runs on the bundle's Node; imported here as it is)
const ssm = (await import(join(IMAGE, "ssm-credential.mjs"))) as {
  signV4(o: Record<string, unknown>): Record<string, string>;
  endpoints(region: string, file?: string): { imds: string; ssm: string };
  writeSecret(out: string, value: string): void;
};

test("user-data: cloud-config with where to enrol and the nginx site, no secret; bad input names its field", () => {
  const text = renderUserData({
    controlPlaneUrl: "wss://tropic.example/api/v1/agent/connect",
    instanceId: ID,
    region: "eu-west-2",
    ssmParameterName: ssmParameterNameFor(ID),
  });
  assert.ok(text.startsWith("#cloud-config\n"));
  assert.ok(Buffer.byteLength(text) < 16_384, "under EC2's 16 KB");
  const cfg = JSON.parse(JSON.parse(/^ {4}content: (".*")$/m.exec(text)![1]!));
  assert.deepEqual(cfg, {
    controlPlaneUrl: "https://tropic.example",
    instanceId: ID,
    region: "eu-west-2",
    ssmParameterName: `/tropic/instances/${ID}/enrolment-token`,
  });
  assert.match(text, /\^https:\\\\\/\\\\\/tropic\\\\\.example\(\/\|\$\)/, "the Referer origin is the control plane's");
  assert.match(text, /runcmd:\n {2}- \[systemctl, enable, --now, --no-block, tropic-enrol\.service\]/);
  assert.doesNotMatch(text, /tet_|agentToken|gatewayToken|password/i, "no credential of any kind");
  assert.equal(controlPlaneBase("http://tropic-control:8080"), "http://tropic-control:8080");
  assert.equal(controlPlaneBase("ws://10.0.0.1:9/base/api/v1/agent/connect"), "http://10.0.0.1:9/base");
  const good = { controlPlaneUrl: "https://t.example", instanceId: ID, region: "us-east-1", ssmParameterName: "/tropic/x" };
  assert.throws(() => renderUserData({ ...good, controlPlaneUrl: "https://u:p@t.example" }), /controlPlaneUrl must not carry credentials/);
  assert.throws(() => renderUserData({ ...good, controlPlaneUrl: "file:///etc" }), /controlPlaneUrl must be/);
  assert.throws(() => renderUserData({ ...good, instanceId: "a b\n" }), /instanceId is invalid/);
  assert.throws(() => renderUserData({ ...good, region: "us-east-1\nruncmd:" }), /region is invalid/);
  assert.throws(() => renderUserData({ ...good, ssmParameterName: "/aws/reference/x" }), /ssmParameterName is invalid/);
  assert.throws(() => renderUserData({ ...good, refererUrl: 'https://a.example"; return 200; #' }), /referer|URL/i);
});

test("security group → nftables: the provider's IpPermission list, stateful, everything else dropped", () => {
  const nft = renderSecurityGroupNft({
    table: "tropic_sg_1",
    iface: "th1h",
    vmAddress: "198.19.0.6",
    ingress: [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "203.0.113.7/32" }] },
      { IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "198.19.0.5/32" }, { CidrIp: "10.0.0.0/8" }], Ipv6Ranges: [] },
      { IpProtocol: "tcp", FromPort: 8000, ToPort: 8100, IpRanges: [{ CidrIp: "198.19.0.5/32" }], Ipv6Ranges: [{ CidrIpv6: "2001:db8::/32" }] },
    ],
  });
  assert.match(nft, /ct state established,related accept\n {4}ip saddr 203\.0\.113\.7\/32 tcp dport 22 accept\n/);
  assert.match(nft, /ip saddr \{ 198\.19\.0\.5\/32, 10\.0\.0\.0\/8 \} tcp dport 80 accept/);
  assert.match(nft, /ip saddr 198\.19\.0\.5\/32 tcp dport 8000-8100 accept\n {4}ip6 saddr 2001:db8::\/32 tcp dport 8000-8100 accept\n {4}drop\n/);
  assert.match(nft, /oifname "th1h" ip daddr 198\.19\.0\.6 jump to_vm/);
  if (have("nft") && process.getuid?.() === 0) {
    const r = spawnSync("nft", ["--check", "-f", "-"], { input: nft, encoding: "utf8" });
    assert.equal(r.status, 0, `nft accepts it: ${r.stderr}`);
  }
  assert.throws(
    () =>
      renderSecurityGroupNft({
        table: "t",
        iface: "th1h",
        vmAddress: "1.2.3.4",
        ingress: [{ IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "1.2.3.4/32; flush ruleset" }] }],
      }),
    /invalid CIDR/,
  );
  assert.throws(() => renderSecurityGroupNft({ table: "t; x", iface: "th1h", vmAddress: "1.2.3.4", ingress: [] }), /table/);
  assert.throws(
    () =>
      renderSecurityGroupNft({
        table: "t",
        iface: "th1h",
        vmAddress: "1.2.3.4",
        ingress: [{ IpProtocol: "gre", IpRanges: [{ CidrIp: "1.2.3.4/32" }] }],
      }),
    /not supported/,
  );
});

/** The AWS SDK's hash shape over node:crypto (HMAC when given a secret). */
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

test("the VM's SigV4 signer signs GetParameter exactly as the AWS SDK's SignatureV4 does", async () => {
  const credentials = {
    accessKeyId: "ASIAEXAMPLEEXAMPLE01",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token==",
  };
  const now = new Date("2026-12-05T16:45:30.123Z");
  for (const url of ["https://ssm.eu-west-2.amazonaws.com/", "http://198.19.0.1:40123/"]) {
    const body = JSON.stringify({ Name: `/tropic/instances/${ID}/enrolment-token`, WithDecryption: true });
    const sha = createHash("sha256").update(body).digest("hex");
    const mine = ssm.signV4({
      method: "POST",
      url,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter", "x-amz-content-sha256": sha },
      body,
      region: "eu-west-2",
      service: "ssm",
      credentials,
      now,
    });
    const u = new URL(url);
    const sdk = await new SignatureV4({ credentials, region: "eu-west-2", service: "ssm", sha256: Sha256 as never }).sign(
      {
        method: "POST",
        protocol: u.protocol,
        hostname: u.hostname,
        ...(u.port ? { port: Number(u.port) } : {}),
        path: "/",
        query: {},
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "AmazonSSM.GetParameter",
          "x-amz-content-sha256": sha,
          host: u.host,
        },
        body,
      },
      { signingDate: now },
    );
    assert.equal(mine["x-amz-date"], "20261205T164530Z");
    assert.equal(mine.authorization, sdk.headers.authorization, `the same signature for ${url}`);
  }
});

test("the VM's endpoints: AWS's unless a test image baked a root-only override; a writable one is refused", () => {
  assert.deepEqual(ssm.endpoints("ap-southeast-1", "/nonexistent/aws-endpoints.json"), {
    imds: "http://169.254.169.254",
    ssm: "https://ssm.ap-southeast-1.amazonaws.com",
  });
  const dir = mkdtempSync(join(tmpdir(), "tropic-endpoints-"));
  try {
    chmodSync(dir, 0o755);
    const f = join(dir, "aws-endpoints.json");
    writeFileSync(f, JSON.stringify({ imds: "http://198.19.0.1:4001", ssm: "http://198.19.0.1:4002/" }), { mode: 0o644 });
    if (process.getuid?.() === 0) {
      assert.deepEqual(ssm.endpoints("eu-west-1", f), { imds: "http://198.19.0.1:4001", ssm: "http://198.19.0.1:4002" });
      chmodSync(f, 0o666);
      assert.throws(() => ssm.endpoints("eu-west-1", f), /not root's alone/);
      chmodSync(f, 0o644);
      writeFileSync(f, JSON.stringify({ imds: "http://user:pw@evil.example", ssm: "http://x" }));
      assert.throws(() => ssm.endpoints("eu-west-1", f), /imds is not a base URL/);
    } else assert.throws(() => ssm.endpoints("eu-west-1", f), /not root's alone/);
    // The secret is written 0600, never through a file or link that is there.
    const out = join(dir, "token");
    ssm.writeSecret(out, "tet_example");
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(readFileSync(out, "utf8"), "tet_example\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the provisioning scripts are POSIX sh; the Packer template: Ubuntu 22.04, amazon-ebs, 20 GB gp3, provision.sh only", () => {
  for (const f of ["provision.sh", "enrol.sh"]) {
    const r = spawnSync("sh", ["-n", join(IMAGE, f)], { encoding: "utf8" });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
  const hcl = readFileSync(join(IMAGE, "tropic-vm.pkr.hcl"), "utf8");
  assert.match(hcl, /source "amazon-ebs" "tropic"/);
  assert.match(hcl, /ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\*/);
  assert.match(hcl, /owners\s+= \["099720109477"\]/, "Canonical's images");
  assert.match(hcl, /volume_size\s+= 20\n\s+volume_type\s+= "gp3"/);
  const shells = [...hcl.matchAll(/provisioner "(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(shells, ["file", "file", "shell"], "files uploaded, then one shell step");
  assert.match(hcl, /sudo sh \/tmp\/tropic-image\/provision\.sh --bundle /, "the shell step runs provision.sh");
  assert.match(hcl, /"\$\{var\.image_tag_key\}" = var\.image_tag_value/, "tagged as the provider finds images");
  if (have("packer")) {
    // Debian's packer: a full validation (no AWS call is made to validate)
    const dir = mkdtempSync(join(tmpdir(), "tropic-packer-"));
    try {
      const bundle = join(dir, "tropic-host-linux-x64-0123456789abcdef.tar.gz");
      writeFileSync(bundle, "");
      const r = spawnSync("packer", ["validate", "-var", `bundle=${bundle}`, join(IMAGE, "tropic-vm.pkr.hcl")], {
        encoding: "utf8",
        env: { ...process.env, CHECKPOINT_DISABLE: "1", PACKER_CACHE_DIR: dir, HOME: dir },
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `packer validate: ${r.stdout}${r.stderr}`);
      const fmt = spawnSync("packer", ["fmt", "-check", join(IMAGE, "tropic-vm.pkr.hcl")], { encoding: "utf8" });
      assert.equal(fmt.status, 0, `packer fmt -check: ${fmt.stdout}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (process.env.CI) assert.fail("packer is not installed (.ci/run installs Debian's)");
});
