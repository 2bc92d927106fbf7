/**
 * The `aws` provider (docs/aws.md): one EC2 VM per instance, launched from the Tropic image, with its
 * own security group, its imported SSH key and one SSM parameter. The rules it keeps (KiloClaw's and
 * Coder's lessons):
 *  - Idempotency per provisioning attempt: the launch's ClientToken is `tropic-<instance>-<attempt>`,
 *    derived from the reference the control plane saved BEFORE create, so a create repeated after a
 *    crash gets the VM the first one launched, never a second. A new attempt (a new token) begins only
 *    when the previous attempt's VM is terminated.
 *  - The EC2 id is saved (saveRef) the moment RunInstances answers, before anything waits.
 *  - Destroy has two phases and resumes after a crash: terminate every VM of the instance and wait
 *    until they are terminated; only then delete the security group, the SSM parameter and the key pair.
 *  - Throttling and capacity errors are retried with back-off; what still fails says AWS's reason in words.
 *  - No secret in user-data: it only says where to enrol. The one-time enrolment token goes into SSM
 *    Parameter Store as a SecureString (user-data.ts describes the VM's side).
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ImportKeyPairCommand,
  type Instance,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  type SecurityGroup,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type _InstanceType,
} from "@aws-sdk/client-ec2";
import { AddTagsToResourceCommand, DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { InstanceProvider, InstanceSpec, NetworkRules, ObservedInstance, ObservedState } from "../provider.ts";
import { ProviderError } from "../provider.ts";
import { type AwsSettings, missingAwsSettings, validCidr } from "./settings.ts";
import { renderUserData, ssmParameterNameFor } from "./user-data.ts";

export interface AwsProviderOptions {
  settings: AwsSettings;
  /** the Referer the VM's nginx lets through (the control plane's public URL; default: the control plane's URL) */
  refererUrl?: string;
  /** the owner's current SSH public key (OpenSSH ssh-ed25519 line), imported for `ssh -i tropic-vm-key.pem ubuntu@<ip>` */
  sshPublicKeyOf(ownerId: string): Promise<string | undefined>;
  /** a fresh one-time enrolment token for the instance; null once it has enrolled (its parameter is then left alone) */
  enrolmentToken(instanceId: string, ownerId: string): Promise<string | null>;
  /** persists a new reference of the instance (a new attempt, then its EC2 id) before anything waits */
  saveRef?(instanceId: string, ref: string): Promise<void>;
  /** clients per region (tests: aws-sdk-client-mock; default: the SDK's clients with the default credential chain) */
  ec2?(region: string): EC2Client;
  ssm?(region: string): SSMClient;
  sleep?(ms: number): Promise<void>;
  /** tries of a throttled or capacity-limited call (default 5) and the first back-off (default 1 s, doubling) */
  retries?: number;
  backoffMs?: number;
  /** how often a wait looks again (default 5 s) and for how long (default 4 min: within a reconcile job's 5-minute expiry; the next pass resumes) */
  pollMs?: number;
  waitTimeoutMs?: number;
  log?(message: string): void;
}

/** AWS errors that go away by themselves: retried with back-off, then reported in words. */
const RETRYABLE = new Set([
  "RequestLimitExceeded",
  "ThrottlingException",
  "Throttling",
  "TooManyUpdates",
  "InsufficientInstanceCapacity",
  "InternalError",
  "ServiceUnavailable",
  "Unavailable",
]);
const DEAD = new Set(["shutting-down", "terminated"]);
const GATEWAY_PORT = 18789;
export const TAG_INSTANCE = "tropic:instance";
export const TAG_OWNER = "tropic:owner";
export const TAG_EC2_ARN = "tropic:ec2-instance-arn";
/** The ports Tropic's proxies may reach (the seed's table): nginx, HTTPS, the gateway. */
export const PROXY_PORTS = [80, 443, GATEWAY_PORT] as const;

type KV = { Key: string; Value: string };

export interface AwsRef {
  region: string;
  instanceId: string;
  attempt: number;
  ec2Id?: string;
}

/** `aws:<region>:<instance>:<attempt>[:<ec2 id>]` */
export function formatRef(r: AwsRef): string {
  return `aws:${r.region}:${r.instanceId}:${r.attempt}${r.ec2Id ? `:${r.ec2Id}` : ""}`;
}

export function parseRef(ref: string): AwsRef {
  const m = /^aws:([a-z0-9-]+):([A-Za-z0-9-]{1,64}):(\d{1,4})(?::(i-[0-9a-f]{8,17}))?$/.exec(ref);
  if (!m) throw new ProviderError(`not an aws reference: ${ref}`, "not_found");
  return { region: m[1]!, instanceId: m[2]!, attempt: Number(m[3]), ...(m[4] ? { ec2Id: m[4] } : {}) };
}

/** The launch's idempotency token for one provisioning attempt (at most 64 ASCII characters). */
export const clientToken = (r: Pick<AwsRef, "instanceId" | "attempt">) => `tropic-${r.instanceId}-${r.attempt}`;
export const groupName = (instanceId: string) => `tropic-${instanceId}`;
export const keyName = (instanceId: string) => `tropic-${instanceId}`;

/** A provider error that keeps AWS's error code (what the steps above it decide on). */
export class AwsError extends ProviderError {
  constructor(
    message: string,
    readonly awsCode: string,
  ) {
    super(message, "failed");
  }
}

export function errorCode(err: unknown): string {
  const e = err as { awsCode?: string; name?: string; Code?: string };
  return e?.awsCode ?? e?.Code ?? e?.name ?? "Error";
}

export class AwsProvider implements InstanceProvider {
  readonly id = "aws" as const;
  private ec2s = new Map<string, EC2Client>();
  private ssms = new Map<string, SSMClient>();

  constructor(readonly o: AwsProviderOptions) {}

  /** What must still be configured before a VM can be launched (variable names; empty: ready). */
  missing(): string[] {
    return missingAwsSettings(this.o.settings);
  }

  reference(spec: Pick<InstanceSpec, "instanceId"> & Partial<Pick<InstanceSpec, "region">>): string {
    if (!spec.region) throw new ProviderError("an aws reference needs the instance's region", "failed");
    return formatRef({ region: spec.region, instanceId: spec.instanceId, attempt: 1 });
  }

  private ec2(region: string): EC2Client {
    let c = this.ec2s.get(region);
    if (!c) {
      c = this.o.ec2?.(region) ?? new EC2Client({ region, ...(this.o.settings.endpoint ? { endpoint: this.o.settings.endpoint } : {}) });
      this.ec2s.set(region, c);
    }
    return c;
  }

  private ssm(region: string): SSMClient {
    let c = this.ssms.get(region);
    if (!c) {
      c = this.o.ssm?.(region) ?? new SSMClient({ region, ...(this.o.settings.endpoint ? { endpoint: this.o.settings.endpoint } : {}) });
      this.ssms.set(region, c);
    }
    return c;
  }

  private sleep(ms: number) {
    return this.o.sleep ? this.o.sleep(ms) : new Promise<void>((r) => setTimeout(r, ms));
  }

  /** One AWS call, retried with back-off while AWS throttles or lacks capacity; then the reason in words. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const tries = this.o.retries ?? 5;
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        const code = errorCode(err);
        if (!RETRYABLE.has(code) || i >= tries - 1) throw this.explain(what, err, RETRYABLE.has(code) ? i + 1 : 0);
        const delay = (this.o.backoffMs ?? 1000) * 2 ** i;
        this.o.log?.(`aws: ${what}: ${code}; trying again in ${delay} ms`);
        await this.sleep(delay);
      }
    }
  }

  private explain(what: string, err: unknown, tries: number): ProviderError {
    const code = errorCode(err);
    const said = String((err as Error)?.message ?? "").slice(0, 300);
    const after = tries > 1 ? ` (tried ${tries} times with back-off; Tropic tries again on the next pass)` : "";
    if (code === "InsufficientInstanceCapacity")
      return new AwsError(
        `AWS has no capacity for this instance type in this region right now, while trying to ${what}${after}: ${said}. Another instance type or region may have capacity.`,
        code,
      );
    if (code === "RequestLimitExceeded" || code === "ThrottlingException" || code === "Throttling")
      return new AwsError(`AWS is throttling Tropic's requests (${code}) while trying to ${what}${after}`, code);
    if (err instanceof ProviderError) return err;
    return new AwsError(`AWS refused to let Tropic ${what}: ${code}: ${said}`, code);
  }

  private tags(spec: Pick<InstanceSpec, "instanceId" | "ownerId">, extra: KV[] = []): KV[] {
    return [{ Key: TAG_INSTANCE, Value: spec.instanceId }, { Key: TAG_OWNER, Value: spec.ownerId }, ...extra];
  }

  /** The image of a region: the configured AMI (checked to exist), else the newest one of ours with the image tag. */
  private async image(region: string): Promise<{ imageId: string; rootDevice: string }> {
    const s = this.o.settings;
    const configured = s.images[region];
    const out = await this.call("look up the Tropic image", () =>
      this.ec2(region).send(
        new DescribeImagesCommand(
          configured
            ? { ImageIds: [configured] }
            : {
                Owners: ["self"],
                Filters: [
                  { Name: `tag:${s.imageTag.key}`, Values: [s.imageTag.value] },
                  { Name: "state", Values: ["available"] },
                ],
              },
        ),
      ),
    ).catch((err) => {
      if (configured && errorCode(err).startsWith("InvalidAMIID")) return { Images: [] };
      throw err;
    });
    const images = (out.Images ?? []).filter((i) => i.State === "available" || (!configured && !i.State));
    images.sort((a, b) => String(b.CreationDate ?? "").localeCompare(String(a.CreationDate ?? "")));
    const img = images[0];
    if (!img?.ImageId)
      throw new ProviderError(
        configured
          ? `the image ${configured} configured for ${region} (TROPIC_AWS_IMAGES) does not exist there or is not available`
          : `no Tropic image in ${region}: no available AMI of this account is tagged ${s.imageTag.key}=${s.imageTag.value}. Build one with deploy/image (Packer) or set TROPIC_AWS_IMAGES=${region}=ami-…`,
        "failed",
      );
    return { imageId: img.ImageId, rootDevice: img.RootDeviceName ?? "/dev/sda1" };
  }

  /** Every VM of the instance (any attempt), found by its tag; terminated ones are visible for about an hour. */
  private async vmsOf(region: string, instanceId: string): Promise<Instance[]> {
    const out = await this.call("list the instance's VMs", () =>
      this.ec2(region).send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${TAG_INSTANCE}`, Values: [instanceId] }] })),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }

  /** The VM of a reference: by its saved EC2 id, else by the attempt's client token. */
  private async vm(r: AwsRef): Promise<Instance | undefined> {
    const input = r.ec2Id ? { InstanceIds: [r.ec2Id] } : { Filters: [{ Name: "client-token", Values: [clientToken(r)] }] };
    const out = await this.call("describe the VM", () => this.ec2(r.region).send(new DescribeInstancesCommand(input))).catch((err) => {
      if (errorCode(err) === "InvalidInstanceID.NotFound") return { Reservations: [] };
      throw err;
    });
    return (out.Reservations ?? []).flatMap((x) => x.Instances ?? [])[0];
  }

  private async securityGroup(region: string, instanceId: string): Promise<SecurityGroup | undefined> {
    const out = await this.call("look up the security group", () =>
      this.ec2(region).send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${TAG_INSTANCE}`, Values: [instanceId] }] })),
    );
    return out.SecurityGroups?.[0];
  }

  /** The instance's own security group (one per instance), made when missing; its ingress is set by applyNetworkRules. */
  private async ensureSecurityGroup(spec: InstanceSpec, subnet: string | undefined): Promise<string> {
    const found = await this.securityGroup(spec.region, spec.instanceId);
    if (found?.GroupId) return found.GroupId;
    let vpcId: string | undefined;
    if (subnet) {
      const s = await this.call("look up the subnet", () => this.ec2(spec.region).send(new DescribeSubnetsCommand({ SubnetIds: [subnet] })));
      vpcId = s.Subnets?.[0]?.VpcId;
      if (!vpcId) throw new ProviderError(`the subnet ${subnet} configured for ${spec.region} (TROPIC_AWS_SUBNETS) does not exist`, "failed");
    }
    try {
      const out = await this.call("create the security group", () =>
        this.ec2(spec.region).send(
          new CreateSecurityGroupCommand({
            GroupName: groupName(spec.instanceId),
            Description: `Tropic instance ${spec.instanceId}: SSH from the owner's allowlist, HTTP(S) and the gateway from Tropic's proxies`,
            ...(vpcId ? { VpcId: vpcId } : {}),
            TagSpecifications: [{ ResourceType: "security-group", Tags: this.tags(spec, [{ Key: "Name", Value: groupName(spec.instanceId) }]) }],
          }),
        ),
      );
      return out.GroupId!;
    } catch (err) {
      // Made meanwhile (a concurrent pass): use it.
      if (errorCode(err) !== "InvalidGroup.Duplicate") throw err;
      const again = await this.securityGroup(spec.region, spec.instanceId);
      if (!again?.GroupId) throw err;
      return again.GroupId;
    }
  }

  /**
   * The owner's current SSH key as the instance's EC2 key pair (cloud-init puts it in ubuntu's
   * authorized_keys at a launch). One there already (an earlier attempt, a key since rotated) is replaced.
   */
  private async importKey(region: string, spec: Pick<InstanceSpec, "instanceId" | "ownerId">, publicKey: string): Promise<void> {
    const importIt = () =>
      this.call("import the SSH key", () =>
        this.ec2(region).send(
          new ImportKeyPairCommand({
            KeyName: keyName(spec.instanceId),
            PublicKeyMaterial: new TextEncoder().encode(publicKey.trim()),
            TagSpecifications: [{ ResourceType: "key-pair", Tags: this.tags(spec) }],
          }),
        ),
      );
    try {
      await importIt();
    } catch (err) {
      if (errorCode(err) !== "InvalidKeyPair.Duplicate") throw err;
      await this.call("replace the imported SSH key", () => this.ec2(region).send(new DeleteKeyPairCommand({ KeyName: keyName(spec.instanceId) })));
      await importIt();
    }
  }

  private async saveRef(r: AwsRef): Promise<string> {
    const ref = formatRef(r);
    await this.o.saveRef?.(r.instanceId, ref);
    return ref;
  }

  async create(spec: InstanceSpec, progress?: (message: string) => void): Promise<ObservedInstance> {
    const s = this.o.settings;
    const missing = this.missing();
    if (missing.length) throw new ProviderError(`AWS is not configured on this Tropic server: set ${missing.join(" and ")} (docs/aws.md)`, "failed");
    if (!s.regions.includes(spec.region)) throw new ProviderError(`region ${spec.region} is not offered here (TROPIC_AWS_REGIONS)`, "failed");
    if (!s.instanceTypes.includes(spec.instanceType))
      throw new ProviderError(`instance type ${spec.instanceType} is not offered here (TROPIC_AWS_INSTANCE_TYPES)`, "failed");
    const region = spec.region;
    const r: AwsRef = spec.providerRef ? parseRef(spec.providerRef) : parseRef(this.reference(spec));

    // An attempt whose VM still exists is adopted as it is (nothing is launched again).
    let vm = await this.vm(r);
    if (vm && !DEAD.has(vm.State?.Name ?? "")) {
      if (!r.ec2Id && vm.InstanceId) await this.saveRef({ ...r, ec2Id: vm.InstanceId });
      // Not enrolled yet (its token may have expired, or a crash came between): a fresh token; the VM
      // reads the parameter again when the control plane refuses the one it has.
      const fresh = await this.o.enrolmentToken(spec.instanceId, spec.ownerId);
      if (fresh) await this.putToken(region, spec.instanceId, fresh);
      return this.observe({ ...r, ec2Id: vm.InstanceId }, vm);
    }
    if (vm) {
      // That attempt's VM was terminated (outside Tropic, or it failed): the next attempt, saved first.
      r.attempt += 1;
      delete r.ec2Id;
      await this.saveRef(r);
    }

    progress?.("finding the Tropic image");
    const image = await this.image(region);
    const subnet = s.subnets[region];
    const groupId = await this.ensureSecurityGroup(spec, subnet);
    const publicKey = await this.o.sshPublicKeyOf(spec.ownerId);
    if (publicKey) await this.importKey(region, spec, publicKey);
    // The credential, before the VM boots: a one-time enrolment token as a SecureString. Never in user-data.
    const parameter = ssmParameterNameFor(spec.instanceId, s.ssmPrefix);
    const token = await this.o.enrolmentToken(spec.instanceId, spec.ownerId);
    if (token) await this.putToken(region, spec.instanceId, token);
    const userData = renderUserData({
      controlPlaneUrl: spec.controlPlaneUrl,
      instanceId: spec.instanceId,
      region,
      ssmParameterName: parameter,
      ...(this.o.refererUrl ? { refererUrl: this.o.refererUrl } : {}),
    });

    progress?.(`launching a ${spec.instanceType} VM in ${region}`);
    for (let tries = 0; ; tries++) {
      const out = await this.call(`launch a ${spec.instanceType} VM in ${region}`, () =>
        this.ec2(region).send(
          new RunInstancesCommand({
            ClientToken: clientToken(r),
            ImageId: image.imageId,
            InstanceType: spec.instanceType as _InstanceType,
            MinCount: 1,
            MaxCount: 1,
            ...(publicKey ? { KeyName: keyName(spec.instanceId) } : {}),
            IamInstanceProfile: s.instanceProfile!.startsWith("arn:") ? { Arn: s.instanceProfile } : { Name: s.instanceProfile },
            MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 1 },
            BlockDeviceMappings: [
              { DeviceName: image.rootDevice, Ebs: { VolumeSize: 20, VolumeType: "gp3", DeleteOnTermination: true, Encrypted: true } },
            ],
            ...(subnet ? { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet, Groups: [groupId] }] } : { SecurityGroupIds: [groupId] }),
            UserData: Buffer.from(userData).toString("base64"),
            TagSpecifications: [
              { ResourceType: "instance", Tags: this.tags(spec, [{ Key: "Name", Value: `tropic-${spec.instanceId}` }]) },
              { ResourceType: "volume", Tags: this.tags(spec) },
            ],
          }),
        ),
      );
      vm = out.Instances?.[0];
      if (!vm?.InstanceId) throw new ProviderError(`AWS launched no VM in ${region} and gave no reason`, "failed");
      // The token's earlier VM (a launch whose id was never saved, since terminated): a new attempt.
      if (DEAD.has(vm.State?.Name ?? "") && tries < 3) {
        r.attempt += 1;
        await this.saveRef(r);
        continue;
      }
      r.ec2Id = vm.InstanceId;
      // Saved before anything waits: a kill from here on finds this VM again.
      await this.saveRef(r);
      if (token)
        await this.call("tag the SSM parameter", () =>
          this.ssm(region).send(
            new AddTagsToResourceCommand({
              ResourceType: "Parameter",
              ResourceId: parameter,
              Tags: this.tags(spec, [{ Key: TAG_EC2_ARN, Value: `arn:aws:ec2:${region}:${out.OwnerId ?? "*"}:instance/${vm!.InstanceId}` }]),
            }),
          ),
        );
      return this.observe(r, vm);
    }
  }

  /** The one-time enrolment token as the instance's SecureString (overwritten: the newest one counts). */
  private async putToken(region: string, instanceId: string, token: string): Promise<void> {
    const s = this.o.settings;
    await this.call("store the enrolment token in SSM Parameter Store", () =>
      this.ssm(region).send(
        new PutParameterCommand({
          Name: ssmParameterNameFor(instanceId, s.ssmPrefix),
          Type: "SecureString",
          Value: token,
          Overwrite: true,
          Description: `Tropic instance ${instanceId}: one-time enrolment token`,
          ...(s.ssmKmsKeyId ? { KeyId: s.ssmKmsKeyId } : {}),
        }),
      ),
    );
  }

  /** The EC2 view as the control plane's: a booting VM is "running" (its gateway's health decides the rest). */
  private observe(r: AwsRef, vm: Instance | undefined): ObservedInstance {
    const providerRef = formatRef(r);
    const name = vm?.State?.Name;
    const state: ObservedState =
      !vm || DEAD.has(name ?? "")
        ? "gone"
        : name === "pending" || name === "running"
          ? "running"
          : name === "stopped" || name === "stopping"
            ? "stopped"
            : "provisioning";
    const ip = vm?.PrivateIpAddress;
    const addresses: Record<string, string> = { region: r.region, ...(vm?.InstanceId ? { ec2InstanceId: vm.InstanceId } : {}) };
    if (ip) addresses.privateIp = ip;
    if (vm?.PublicIpAddress) addresses.publicIp = vm.PublicIpAddress;
    // The setting that chooses how the proxy and the health check reach the gateway (docs/aws.md).
    if (this.o.settings.reach === "nginx" && ip) addresses.private = `http://${ip}:80`;
    if (this.o.settings.reach === "tunnel") addresses.gateway = `http://127.0.0.1:${GATEWAY_PORT}`;
    return {
      providerRef,
      state,
      addresses,
      ...(this.o.settings.reach === "nginx" && ip ? { healthUrl: `http://${ip}/healthz` } : {}),
      ...(vm?.StateReason?.Message && state !== "running" ? { detail: vm.StateReason.Message } : {}),
    };
  }

  async describe(providerRef: string): Promise<ObservedInstance> {
    const r = parseRef(providerRef);
    return this.observe(r, await this.vm(r));
  }

  /** Polls until the VM is in one of `states` (or gone), up to the wait timeout. */
  private async waitFor(r: AwsRef, states: string[], what: string): Promise<Instance | undefined> {
    const deadline = Date.now() + (this.o.waitTimeoutMs ?? 4 * 60_000);
    for (;;) {
      const vm = await this.vm(r);
      if (!vm || states.includes(vm.State?.Name ?? "")) return vm;
      if (Date.now() >= deadline)
        throw new ProviderError(
          `the VM ${vm.InstanceId} is still ${vm.State?.Name} after waiting to ${what}; Tropic looks again on the next pass`,
          "failed",
        );
      await this.sleep(this.o.pollMs ?? 5000);
    }
  }

  async start(providerRef: string): Promise<void> {
    const r = parseRef(providerRef);
    let vm = await this.vm(r);
    if (!vm || DEAD.has(vm.State?.Name ?? ""))
      throw new ProviderError(
        `the VM of this instance is gone (${vm?.State?.Name ?? "not found"}); it is launched again on the next pass`,
        "not_found",
      );
    if (vm.State?.Name === "running" || vm.State?.Name === "pending") return;
    if (vm.State?.Name === "stopping") vm = await this.waitFor({ ...r, ec2Id: vm.InstanceId }, ["stopped"], "start it");
    const id = vm!.InstanceId!;
    await this.call(`start the VM ${id}`, () => this.ec2(r.region).send(new StartInstancesCommand({ InstanceIds: [id] })));
  }

  async stop(providerRef: string): Promise<void> {
    const r = parseRef(providerRef);
    const vm = await this.vm(r);
    if (!vm?.InstanceId || DEAD.has(vm.State?.Name ?? "") || vm.State?.Name === "stopped") return;
    const id = vm.InstanceId;
    if (vm.State?.Name !== "stopping")
      await this.call(`stop the VM ${id}`, () => this.ec2(r.region).send(new StopInstancesCommand({ InstanceIds: [id] })));
    // Stopped means stopped: the meter charges until the state says so.
    await this.waitFor({ ...r, ec2Id: id }, ["stopped"], "stop it");
  }

  /**
   * Two phases, each step idempotent, so a destroy killed at any point is simply run again:
   * 1. terminate every VM of the instance (any attempt; found by tag and by the saved id) and wait
   *    until all are terminated;
   * 2. then delete the security group (it cannot go while a VM uses it), the SSM parameter and the key pair.
   */
  async destroy(providerRef: string): Promise<void> {
    const r = parseRef(providerRef);
    const region = r.region;
    const vms = new Map<string, Instance>();
    for (const vm of await this.vmsOf(region, r.instanceId)) if (vm.InstanceId) vms.set(vm.InstanceId, vm);
    const own = await this.vm(r);
    if (own?.InstanceId) vms.set(own.InstanceId, own);
    const alive = [...vms.values()].filter((v) => v.State?.Name !== "terminated").map((v) => v.InstanceId!);
    if (alive.length) {
      const toTerminate = [...vms.values()].filter((v) => !DEAD.has(v.State?.Name ?? "")).map((v) => v.InstanceId!);
      if (toTerminate.length)
        await this.call("terminate the VM", () => this.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: toTerminate })));
      for (const id of alive) await this.waitFor({ ...r, ec2Id: id }, ["terminated"], "terminate it");
    }
    // Phase two: only what no running VM needs any more.
    const sg = await this.securityGroup(region, r.instanceId);
    if (sg?.GroupId) {
      const groupId = sg.GroupId;
      // The VM's network interface lets go of the group a little after it is terminated.
      for (let i = 0; ; i++) {
        try {
          await this.call("delete the security group", () => this.ec2(region).send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
          break;
        } catch (err) {
          if (errorCode(err) === "InvalidGroup.NotFound") break;
          if (errorCode(err) !== "DependencyViolation" || i >= 5) throw err;
          await this.sleep(this.o.pollMs ?? 5000);
        }
      }
    }
    await this.call("delete the SSM parameter", () =>
      this.ssm(region).send(new DeleteParameterCommand({ Name: ssmParameterNameFor(r.instanceId, this.o.settings.ssmPrefix) })),
    ).catch((err) => {
      if (errorCode(err) !== "ParameterNotFound") throw err;
    });
    await this.call("delete the imported SSH key", () => this.ec2(region).send(new DeleteKeyPairCommand({ KeyName: keyName(r.instanceId) })));
  }

  /**
   * The current key replaces the instance's EC2 key pair (what a VM launched from now on gets). A
   * running VM gets its authorized_keys from its instance agent (set_authorized_keys), as every instance does.
   */
  async pushSshKeys(providerRef: string, publicKeys: string[]): Promise<void> {
    const r = parseRef(providerRef);
    const key = publicKeys[0];
    if (!key) return;
    const vm = await this.vm(r);
    const ownerId = vm?.Tags?.find((t) => t.Key === TAG_OWNER)?.Value;
    await this.importKey(r.region, { instanceId: r.instanceId, ownerId: ownerId ?? "unknown" }, key);
  }

  /** The seed's table, exactly: 22 from the owner's allowlist, 80/443/18789 from Tropic's proxies, nothing else in; all out. */
  static ingressFor(sshAllowlist: string[], proxyCidrs: string[]): IpPermission[] {
    const ranges = (cidrs: string[], description: string) => ({
      IpRanges: cidrs.filter((c) => !c.includes(":")).map((CidrIp) => ({ CidrIp, Description: description })),
      Ipv6Ranges: cidrs.filter((c) => c.includes(":")).map((CidrIpv6) => ({ CidrIpv6, Description: description })),
    });
    const out: IpPermission[] = [];
    if (sshAllowlist.length) out.push({ IpProtocol: "tcp", FromPort: 22, ToPort: 22, ...ranges(sshAllowlist, "SSH from the owner's allowlist") });
    const why: Record<number, string> = {
      80: "nginx from Tropic's proxy",
      443: "HTTPS from Tropic's proxy",
      [GATEWAY_PORT]: "gateway from Tropic's proxy",
    };
    for (const port of PROXY_PORTS) out.push({ IpProtocol: "tcp", FromPort: port, ToPort: port, ...ranges(proxyCidrs, why[port]!) });
    return out;
  }

  /**
   * Revokes every ingress rule of the instance's group, then authorises the table from scratch (one
   * call each; between them nothing is open, never more). Bad CIDRs are refused before anything changes.
   */
  async applyNetworkRules(providerRef: string, rules: NetworkRules): Promise<void> {
    const r = parseRef(providerRef);
    const proxy = this.o.settings.proxyCidrs;
    for (const c of [...rules.sshAllowlist, ...proxy]) if (!validCidr(c)) throw new ProviderError(`not a CIDR block: ${c}`, "failed");
    if (!proxy.length)
      throw new ProviderError("TROPIC_AWS_PROXY_CIDRS is not set: Tropic's proxy addresses are needed for ports 80, 443 and 18789", "failed");
    const sg = await this.securityGroup(r.region, r.instanceId);
    if (!sg?.GroupId)
      throw new ProviderError(`the instance ${r.instanceId} has no security group yet; its rules are applied when it is created`, "not_found");
    const groupId = sg.GroupId;
    const existing = (sg.IpPermissions ?? []).map(clean);
    if (existing.length)
      await this.call("revoke the security group's ingress", () =>
        this.ec2(r.region).send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: existing })),
      );
    await this.call("authorise the security group's ingress", () =>
      this.ec2(r.region).send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: AwsProvider.ingressFor(rules.sshAllowlist, proxy) }),
      ),
    );
    const allOut = (sg.IpPermissionsEgress ?? []).some((p) => p.IpProtocol === "-1" && p.IpRanges?.some((x) => x.CidrIp === "0.0.0.0/0"));
    if (!allOut)
      await this.call("allow all egress", () =>
        this.ec2(r.region).send(
          new AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }] }),
        ),
      );
  }
}

/** A described permission as a revoke request: the empty lists AWS returns dropped. */
function clean(p: IpPermission): IpPermission {
  const out: IpPermission = { IpProtocol: p.IpProtocol };
  if (p.FromPort !== undefined) out.FromPort = p.FromPort;
  if (p.ToPort !== undefined) out.ToPort = p.ToPort;
  if (p.IpRanges?.length) out.IpRanges = p.IpRanges.map((x) => ({ CidrIp: x.CidrIp }));
  if (p.Ipv6Ranges?.length) out.Ipv6Ranges = p.Ipv6Ranges.map((x) => ({ CidrIpv6: x.CidrIpv6 }));
  if (p.PrefixListIds?.length) out.PrefixListIds = p.PrefixListIds.map((x) => ({ PrefixListId: x.PrefixListId }));
  if (p.UserIdGroupPairs?.length)
    out.UserIdGroupPairs = p.UserIdGroupPairs.map((x) => ({ GroupId: x.GroupId, ...(x.UserId ? { UserId: x.UserId } : {}) }));
  return out;
}
