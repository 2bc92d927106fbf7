// The aws provider's configuration (docs/aws.md): which regions and instance types this Tropic offers,
// the image per region (an AMI id, or found by its tags), the instance profile, the subnets, Tropic's
// proxy addresses (the only sources of ports 80/443/18789) and how the proxy reaches a VM. Read from
// TROPIC_AWS_* variables or a JSON file (TROPIC_AWS_CONFIG_FILE); a missing setting is named, never guessed.
import { readFileSync } from "node:fs";
import { PROVIDERS } from "../catalog.ts";

export type AwsReach = "tunnel" | "nginx";

export interface AwsSettings {
  regions: string[];
  instanceTypes: string[];
  defaultInstanceType: string;
  /** region → AMI id; a region without one finds its image by tag */
  images: Record<string, string>;
  /** the tag images are found by (DescribeImages, owner self, newest first): key=value */
  imageTag: { key: string; value: string };
  /** the instance profile the VMs get (name or ARN): the role that reads the VM's SSM parameter */
  instanceProfile: string | undefined;
  /** region → subnet id (default: the region's default VPC) */
  subnets: Record<string, string>;
  /** CIDRs of Tropic's proxies: the only sources of ports 80, 443 and 18789 */
  proxyCidrs: string[];
  /** where each instance's SSM parameter lives (`<prefix>/<instance id>/enrolment-token`) */
  ssmPrefix: string;
  /** a KMS key for the SecureString (default: the account's aws/ssm key) */
  ssmKmsKeyId: string | undefined;
  /** how the proxy and the health check reach the gateway: the agent's tunnel, or nginx on the private address */
  reach: AwsReach;
  /** an endpoint override for EC2 and SSM (a test double, LocalStack); unset: AWS */
  endpoint: string | undefined;
}

export const AWS_ENV = {
  configFile: "TROPIC_AWS_CONFIG_FILE",
  regions: "TROPIC_AWS_REGIONS",
  instanceTypes: "TROPIC_AWS_INSTANCE_TYPES",
  defaultInstanceType: "TROPIC_AWS_DEFAULT_INSTANCE_TYPE",
  images: "TROPIC_AWS_IMAGES",
  imageTag: "TROPIC_AWS_IMAGE_TAG",
  instanceProfile: "TROPIC_AWS_INSTANCE_PROFILE",
  subnets: "TROPIC_AWS_SUBNETS",
  proxyCidrs: "TROPIC_AWS_PROXY_CIDRS",
  ssmPrefix: "TROPIC_AWS_SSM_PREFIX",
  ssmKmsKeyId: "TROPIC_AWS_SSM_KMS_KEY_ID",
  reach: "TROPIC_AWS_REACH",
  endpoint: "TROPIC_AWS_ENDPOINT",
} as const;

const CATALOG = PROVIDERS.aws;
const AMI = /^ami-[0-9a-f]{8,17}$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR6 = /^[0-9a-f:]+\/\d{1,3}$/i;

/** The file's shape (every field optional; the variables override it). */
type AwsFile = Partial<{
  regions: string[];
  instanceTypes: string[];
  defaultInstanceType: string;
  images: Record<string, string>;
  imageTag: string;
  instanceProfile: string;
  subnets: Record<string, string>;
  proxyCidrs: string[];
  ssmPrefix: string;
  ssmKmsKeyId: string;
  reach: string;
  endpoint: string;
}>;

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** "us-east-1=ami-123,eu-west-1=ami-456" → {…} */
function mapOf(name: string, s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of list(s)) {
    const m = /^([a-z0-9-]+)=(\S+)$/.exec(entry);
    if (!m) throw new Error(`${name} must be "region=value,…", got "${entry}"`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Whether any AWS setting is present (variables or file): with none, aws is simply not offered. */
export function awsMentioned(env: NodeJS.ProcessEnv): boolean {
  return Object.values(AWS_ENV).some((k) => !!env[k]);
}

/**
 * The settings from the environment (and TROPIC_AWS_CONFIG_FILE). Throws naming the variable for a
 * value that is wrong (an unknown region or type, a malformed AMI id or CIDR); settings that are merely
 * missing are reported by `missingAwsSettings`, so the server starts and says what to configure.
 */
export function loadAwsSettings(env: NodeJS.ProcessEnv): AwsSettings {
  let file: AwsFile = {};
  const path = env[AWS_ENV.configFile];
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`${AWS_ENV.configFile}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    try {
      file = JSON.parse(text) as AwsFile;
    } catch {
      throw new Error(`${AWS_ENV.configFile}: ${path} is not valid JSON`);
    }
    if (!file || typeof file !== "object" || Array.isArray(file)) throw new Error(`${AWS_ENV.configFile}: ${path} must hold a JSON object`);
  }
  const str = (k: keyof typeof AWS_ENV, f: unknown): string | undefined => {
    const v = env[AWS_ENV[k]];
    if (v) return v;
    if (f === undefined || f === null) return undefined;
    if (typeof f !== "string") throw new Error(`${AWS_ENV.configFile}: ${k} must be a string`);
    return f;
  };
  const arr = (k: keyof typeof AWS_ENV, f: unknown): string[] | undefined => {
    const v = env[AWS_ENV[k]];
    if (v) return list(v);
    if (f === undefined || f === null) return undefined;
    if (!Array.isArray(f) || f.some((x) => typeof x !== "string")) throw new Error(`${AWS_ENV.configFile}: ${k} must be an array of strings`);
    return f as string[];
  };
  const rec = (k: keyof typeof AWS_ENV, f: unknown): Record<string, string> => {
    const v = env[AWS_ENV[k]];
    if (v) return mapOf(AWS_ENV[k], v);
    if (f === undefined || f === null) return {};
    if (typeof f !== "object" || Array.isArray(f) || Object.values(f).some((x) => typeof x !== "string"))
      throw new Error(`${AWS_ENV.configFile}: ${k} must be an object of region → string`);
    return f as Record<string, string>;
  };

  const regions = arr("regions", file.regions) ?? [...CATALOG.regions];
  for (const r of regions)
    if (!CATALOG.regions.includes(r)) throw new Error(`${AWS_ENV.regions}: region "${r}" is not offered; choose from ${CATALOG.regions.join(", ")}`);
  if (!regions.length) throw new Error(`${AWS_ENV.regions}: name at least one region`);
  const known = CATALOG.instanceTypes.map((t) => t.id);
  const instanceTypes = arr("instanceTypes", file.instanceTypes) ?? [...known];
  for (const t of instanceTypes)
    if (!known.includes(t)) throw new Error(`${AWS_ENV.instanceTypes}: instance type "${t}" is not offered; choose from ${known.join(", ")}`);
  if (!instanceTypes.length) throw new Error(`${AWS_ENV.instanceTypes}: name at least one instance type`);
  const defaultInstanceType =
    str("defaultInstanceType", file.defaultInstanceType) ??
    (instanceTypes.includes(CATALOG.defaultInstanceType) ? CATALOG.defaultInstanceType : instanceTypes[0]!);
  if (!instanceTypes.includes(defaultInstanceType))
    throw new Error(`${AWS_ENV.defaultInstanceType}: "${defaultInstanceType}" is not one of ${AWS_ENV.instanceTypes} (${instanceTypes.join(", ")})`);
  const images = rec("images", file.images);
  for (const [r, ami] of Object.entries(images)) {
    if (!CATALOG.regions.includes(r)) throw new Error(`${AWS_ENV.images}: unknown region "${r}"`);
    if (!AMI.test(ami)) throw new Error(`${AWS_ENV.images}: "${ami}" (${r}) is not an AMI id like ami-0123456789abcdef0`);
  }
  const tagText = str("imageTag", file.imageTag) ?? "tropic:image=openclaw";
  const tag = /^([^=\s]{1,128})=([^=\s]{1,256})$/.exec(tagText);
  if (!tag) throw new Error(`${AWS_ENV.imageTag}: must be key=value, got "${tagText}"`);
  const subnets = rec("subnets", file.subnets);
  for (const [r, s] of Object.entries(subnets)) {
    if (!CATALOG.regions.includes(r)) throw new Error(`${AWS_ENV.subnets}: unknown region "${r}"`);
    if (!SUBNET.test(s)) throw new Error(`${AWS_ENV.subnets}: "${s}" (${r}) is not a subnet id like subnet-0123456789abcdef0`);
  }
  const proxyCidrs = arr("proxyCidrs", file.proxyCidrs) ?? [];
  for (const c of proxyCidrs) if (!validCidr(c)) throw new Error(`${AWS_ENV.proxyCidrs}: "${c}" is not a CIDR block like 203.0.113.10/32`);
  const ssmPrefix = str("ssmPrefix", file.ssmPrefix) ?? "/tropic/instances";
  if (!/^\/[A-Za-z0-9_.\-/]{1,200}$/.test(ssmPrefix) || /^\/(aws|ssm)/i.test(ssmPrefix) || ssmPrefix.includes("//"))
    throw new Error(`${AWS_ENV.ssmPrefix}: must be a parameter path like /tropic/instances`);
  const reach = str("reach", file.reach) ?? "tunnel";
  if (reach !== "tunnel" && reach !== "nginx") throw new Error(`${AWS_ENV.reach}: must be tunnel or nginx, got "${reach}"`);
  const endpoint = str("endpoint", file.endpoint);
  if (endpoint !== undefined && !/^https?:\/\/[^\s/@]+(\/\S*)?$/.test(endpoint)) throw new Error(`${AWS_ENV.endpoint}: must be an http(s) URL`);
  const instanceProfile = str("instanceProfile", file.instanceProfile);
  if (instanceProfile !== undefined && !/^(arn:aws[\w-]*:iam::\d{12}:instance-profile\/)?[\w+=,.@/-]{1,128}$/.test(instanceProfile))
    throw new Error(`${AWS_ENV.instanceProfile}: must be an instance profile name or ARN`);
  return {
    regions,
    instanceTypes,
    defaultInstanceType,
    images,
    imageTag: { key: tag[1]!, value: tag[2]! },
    instanceProfile,
    subnets,
    proxyCidrs,
    ssmPrefix: ssmPrefix.replace(/\/+$/, ""),
    ssmKmsKeyId: str("ssmKmsKeyId", file.ssmKmsKeyId),
    reach,
    endpoint,
  };
}

/** The settings that must be there before a VM can be launched, by variable name (empty: ready). */
export function missingAwsSettings(s: AwsSettings): string[] {
  const missing: string[] = [];
  if (!s.instanceProfile) missing.push(AWS_ENV.instanceProfile);
  if (!s.proxyCidrs.length) missing.push(AWS_ENV.proxyCidrs);
  return missing;
}

export function validCidr(c: string): boolean {
  const m = CIDR4.exec(c);
  if (m) return m.slice(1, 5).every((n) => Number(n) <= 255) && Number(m[5]) <= 32;
  if (CIDR6.test(c)) return Number(c.split("/")[1]) <= 128 && c.includes(":");
  return false;
}
