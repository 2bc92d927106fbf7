// The aws provider's settings (TROPIC_AWS_* and TROPIC_AWS_CONFIG_FILE): defaults, the file with the
// variables over it, and a wrong value refused naming its variable; missing ones named separately.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { awsMentioned, loadAwsSettings, missingAwsSettings } from "../src/index.ts";

test("defaults: the seed's regions and types, t3.micro, the image tag, tunnel; the required ones are named", () => {
  assert.equal(awsMentioned({}), false);
  const s = loadAwsSettings({ TROPIC_AWS_REGIONS: "" });
  assert.deepEqual(s.regions, ["us-east-1", "ap-southeast-1", "eu-west-1", "eu-west-2"]);
  assert.deepEqual(s.instanceTypes, ["t3.micro", "t3.small", "t3.medium"]);
  assert.equal(s.defaultInstanceType, "t3.micro");
  assert.deepEqual(s.imageTag, { key: "tropic:image", value: "openclaw" });
  assert.equal(s.reach, "tunnel");
  assert.equal(s.ssmPrefix, "/tropic/instances");
  assert.deepEqual(missingAwsSettings(s), ["TROPIC_AWS_INSTANCE_PROFILE", "TROPIC_AWS_PROXY_CIDRS"]);
});

test("variables, and a config file under them", () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-aws-"));
  try {
    const file = join(dir, "aws.json");
    writeFileSync(
      file,
      JSON.stringify({
        regions: ["eu-west-2", "eu-west-1"],
        instanceTypes: ["t3.small", "t3.medium"],
        images: { "eu-west-2": "ami-0123456789abcdef0" },
        subnets: { "eu-west-1": "subnet-0123456789abcdef0" },
        instanceProfile: "from-file",
        proxyCidrs: ["203.0.113.0/28", "2001:db8::/64"],
        reach: "nginx",
      }),
    );
    const s = loadAwsSettings({ TROPIC_AWS_CONFIG_FILE: file, TROPIC_AWS_INSTANCE_PROFILE: "arn:aws:iam::123456789012:instance-profile/tropic-vm" });
    assert.deepEqual(s.regions, ["eu-west-2", "eu-west-1"]);
    assert.equal(s.defaultInstanceType, "t3.small", "t3.micro is not offered: the first offered");
    assert.deepEqual(s.images, { "eu-west-2": "ami-0123456789abcdef0" });
    assert.deepEqual(s.subnets, { "eu-west-1": "subnet-0123456789abcdef0" });
    assert.equal(s.instanceProfile, "arn:aws:iam::123456789012:instance-profile/tropic-vm", "the variable wins");
    assert.equal(s.reach, "nginx");
    assert.deepEqual(missingAwsSettings(s), []);
    const env = loadAwsSettings({
      TROPIC_AWS_IMAGES: "us-east-1=ami-0aaaaaaaaaaaaaaa1, eu-west-2=ami-0bbbbbbbbbbbbbbb2",
      TROPIC_AWS_PROXY_CIDRS: "198.51.100.1/32",
    });
    assert.deepEqual(env.images, { "us-east-1": "ami-0aaaaaaaaaaaaaaa1", "eu-west-2": "ami-0bbbbbbbbbbbbbbb2" });
    writeFileSync(file, "{not json");
    assert.throws(() => loadAwsSettings({ TROPIC_AWS_CONFIG_FILE: file }), /TROPIC_AWS_CONFIG_FILE: .* is not valid JSON/);
    assert.throws(() => loadAwsSettings({ TROPIC_AWS_CONFIG_FILE: join(dir, "nope.json") }), /TROPIC_AWS_CONFIG_FILE: cannot read .* \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a wrong value is refused naming its variable", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ TROPIC_AWS_REGIONS: "us-east-1,mars-1" }, /TROPIC_AWS_REGIONS: region "mars-1" is not offered/],
    [{ TROPIC_AWS_INSTANCE_TYPES: "t3.micro,m5.24xlarge" }, /TROPIC_AWS_INSTANCE_TYPES: instance type "m5.24xlarge" is not offered/],
    [
      { TROPIC_AWS_INSTANCE_TYPES: "t3.small", TROPIC_AWS_DEFAULT_INSTANCE_TYPE: "t3.micro" },
      /TROPIC_AWS_DEFAULT_INSTANCE_TYPE: "t3.micro" is not one of/,
    ],
    [{ TROPIC_AWS_IMAGES: "us-east-1=ubuntu" }, /TROPIC_AWS_IMAGES: "ubuntu" \(us-east-1\) is not an AMI id/],
    [{ TROPIC_AWS_IMAGES: "us-east-1" }, /TROPIC_AWS_IMAGES must be "region=value,…"/],
    [{ TROPIC_AWS_SUBNETS: "eu-west-2=vpc-1" }, /TROPIC_AWS_SUBNETS: "vpc-1" \(eu-west-2\) is not a subnet id/],
    [{ TROPIC_AWS_PROXY_CIDRS: "0.0.0.0/0,example.com" }, /TROPIC_AWS_PROXY_CIDRS: "example.com" is not a CIDR block/],
    [{ TROPIC_AWS_PROXY_CIDRS: "300.1.1.1/32" }, /TROPIC_AWS_PROXY_CIDRS: "300.1.1.1\/32" is not a CIDR block/],
    [{ TROPIC_AWS_REACH: "public" }, /TROPIC_AWS_REACH: must be tunnel or nginx/],
    [{ TROPIC_AWS_SSM_PREFIX: "/aws/x" }, /TROPIC_AWS_SSM_PREFIX: must be a parameter path/],
    [{ TROPIC_AWS_IMAGE_TAG: "novalue" }, /TROPIC_AWS_IMAGE_TAG: must be key=value/],
    [{ TROPIC_AWS_INSTANCE_PROFILE: "bad profile" }, /TROPIC_AWS_INSTANCE_PROFILE: must be an instance profile name or ARN/],
  ];
  for (const [env, want] of bad) assert.throws(() => loadAwsSettings(env), want, JSON.stringify(env));
});
