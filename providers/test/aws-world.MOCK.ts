// A stand-in for AWS's EC2 and SSM APIs behind aws-sdk-client-mock (the ONLY mock in the aws tests):
// a small model of the account (VMs with their client tokens and states, security groups, key pairs,
// parameters) that answers the calls the aws provider makes the way EC2 does: RunInstances is
// idempotent per ClientToken, VMs take a few looks to stop or terminate, a group cannot be deleted
// while a VM that is not terminated uses it. Every call is logged in order, with its input.
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
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { AddTagsToResourceCommand, DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { AwsSettings } from "../src/index.ts";

/** AWS settings as a configured Tropic server has them (every test's starting point). */
export const testAwsSettings = (over: Partial<AwsSettings> = {}): AwsSettings => ({
  regions: ["us-east-1", "ap-southeast-1", "eu-west-1", "eu-west-2"],
  instanceTypes: ["t3.micro", "t3.small", "t3.medium"],
  defaultInstanceType: "t3.micro",
  images: {},
  imageTag: { key: "tropic:image", value: "openclaw" },
  instanceProfile: "tropic-vm",
  subnets: {},
  proxyCidrs: ["203.0.113.10/32"],
  ssmPrefix: "/tropic/instances",
  ssmKmsKeyId: undefined,
  reach: "tunnel",
  endpoint: undefined,
  ...over,
});

export const awsError = (code: string, message = `${code} (mock)`) => Object.assign(new Error(message), { name: code, $fault: "client" });

interface Vm {
  id: string;
  token: string;
  state: string;
  /** looks left before a transition (stopping → stopped, shutting-down → terminated, pending → running) */
  settle: number;
  input: Record<string, unknown>;
  tags: { Key: string; Value: string }[];
  ip: string;
}

export class AwsWorld {
  readonly ec2 = mockClient(EC2Client);
  readonly ssm = mockClient(SSMClient);
  /** every call, in order: [command, input] (and the provider's saveRef, as ["saveRef", ref]) */
  readonly log: [string, Record<string, unknown>][] = [];
  readonly vms = new Map<string, Vm>();
  readonly groups = new Map<
    string,
    { id: string; name: string; tags: { Key?: string; Value?: string }[]; ingress: IpPermission[]; egress: IpPermission[] }
  >();
  readonly keys = new Map<string, string>();
  readonly params = new Map<string, { value: string; type: string; tags: { Key: string; Value: string }[] }>();
  images: { ImageId: string; State: string; CreationDate: string; RootDeviceName: string; tag?: string }[] = [
    { ImageId: "ami-0aaaaaaaaaaaaaaa1", State: "available", CreationDate: "2026-11-01T00:00:00Z", RootDeviceName: "/dev/sda1", tag: "openclaw" },
    { ImageId: "ami-0bbbbbbbbbbbbbbb2", State: "available", CreationDate: "2026-12-01T00:00:00Z", RootDeviceName: "/dev/sda1", tag: "openclaw" },
  ];
  /** errors the next calls of a command throw, in order */
  readonly faults = new Map<string, Error[]>();
  /** errors thrown AFTER the next calls of a command took effect (an answer lost on the way back) */
  readonly lost = new Map<string, Error[]>();
  /** the next DescribeInstances calls see no VM (EC2's eventual consistency right after a launch) */
  hideVms = 0;
  /** looks a VM takes to stop or terminate */
  settleLooks = 2;
  private seq = 0;

  constructor() {
    const on = <I extends object, O>(cmd: { name: string }, mock: ReturnType<typeof mockClient>, fn: (input: I) => O) =>
      // biome-ignore lint/suspicious/noExplicitAny: the mock's overloads per command
      (mock as any).on(cmd).callsFake(async (input: I) => {
        this.log.push([cmd.name, structuredClone(input) as Record<string, unknown>]);
        const f = this.faults.get(cmd.name)?.shift();
        if (f) throw f;
        const out = await fn(input);
        const l = this.lost.get(cmd.name)?.shift();
        if (l) throw l;
        return out;
      });
    on(DescribeImagesCommand, this.ec2, (i: { ImageIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      if (i.ImageIds) {
        const found = this.images.filter((im) => i.ImageIds!.includes(im.ImageId));
        if (!found.length) throw awsError("InvalidAMIID.NotFound", `The image id '[${i.ImageIds.join(",")}]' does not exist`);
        return { Images: found };
      }
      const tag = i.Filters?.find((f) => f.Name.startsWith("tag:"))?.Values[0];
      return { Images: this.images.filter((im) => im.tag === tag) };
    });
    on(DescribeSubnetsCommand, this.ec2, () => ({ Subnets: [{ SubnetId: "subnet-0123456789abcdef0", VpcId: "vpc-0123456789abcdef0" }] }));
    on(DescribeInstancesCommand, this.ec2, (i: { InstanceIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
      let vms = [...this.vms.values()];
      if (this.hideVms > 0) {
        this.hideVms--;
        vms = [];
      }
      if (i.InstanceIds) {
        vms = vms.filter((v) => i.InstanceIds!.includes(v.id));
        if (!vms.length) throw awsError("InvalidInstanceID.NotFound", `The instance ID '${i.InstanceIds[0]}' does not exist`);
      }
      for (const f of i.Filters ?? []) {
        if (f.Name === "client-token") vms = vms.filter((v) => f.Values.includes(v.token));
        else if (f.Name.startsWith("tag:")) vms = vms.filter((v) => v.tags.some((t) => t.Key === f.Name.slice(4) && f.Values.includes(t.Value)));
      }
      for (const v of vms) this.advance(v);
      return { Reservations: vms.map((v) => ({ OwnerId: "123456789012", Instances: [this.view(v)] })) };
    });
    on(RunInstancesCommand, this.ec2, (i: Record<string, unknown>) => {
      const token = i.ClientToken as string;
      let vm = [...this.vms.values()].find((v) => v.token === token);
      if (!vm) {
        const id = `i-0${(++this.seq).toString(16).padStart(16, "0")}`;
        const specs = i.TagSpecifications as { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
        vm = {
          id,
          token,
          state: "pending",
          settle: 1,
          input: i,
          tags: specs.find((s) => s.ResourceType === "instance")?.Tags ?? [],
          ip: `10.0.0.${10 + this.seq}`,
        };
        this.vms.set(id, vm);
      }
      return { OwnerId: "123456789012", Instances: [this.view(vm)] };
    });
    on(StartInstancesCommand, this.ec2, (i: { InstanceIds: string[] }) => {
      for (const id of i.InstanceIds) {
        const v = this.vms.get(id)!;
        if (v.state !== "stopped") throw awsError("IncorrectInstanceState", `The instance '${id}' is not in a state from which it can be started.`);
        v.state = "pending";
        v.settle = 1;
      }
      return {};
    });
    on(StopInstancesCommand, this.ec2, (i: { InstanceIds: string[] }) => {
      for (const id of i.InstanceIds) {
        const v = this.vms.get(id)!;
        if (v.state === "running" || v.state === "pending") {
          v.state = "stopping";
          v.settle = this.settleLooks;
        }
      }
      return {};
    });
    on(TerminateInstancesCommand, this.ec2, (i: { InstanceIds: string[] }) => {
      for (const id of i.InstanceIds) {
        const v = this.vms.get(id)!;
        if (v.state !== "terminated" && v.state !== "shutting-down") {
          v.state = "shutting-down";
          v.settle = this.settleLooks;
        }
      }
      return {};
    });
    on(DescribeSecurityGroupsCommand, this.ec2, (i: { Filters?: { Name: string; Values: string[] }[] }) => {
      const f = i.Filters?.[0];
      const groups = [...this.groups.values()].filter((g) => !f || g.tags.some((t) => `tag:${t.Key}` === f.Name && f.Values.includes(t.Value!)));
      return {
        SecurityGroups: groups.map((g) => ({
          GroupId: g.id,
          GroupName: g.name,
          Tags: g.tags,
          IpPermissions: structuredClone(g.ingress),
          IpPermissionsEgress: structuredClone(g.egress),
        })),
      };
    });
    on(CreateSecurityGroupCommand, this.ec2, (i: { GroupName: string; TagSpecifications: { Tags: { Key: string; Value: string }[] }[] }) => {
      if ([...this.groups.values()].some((g) => g.name === i.GroupName)) throw awsError("InvalidGroup.Duplicate");
      const id = `sg-0${(++this.seq).toString(16).padStart(16, "0")}`;
      // A new VPC group allows all egress and no ingress.
      this.groups.set(id, {
        id,
        name: i.GroupName,
        tags: i.TagSpecifications[0]!.Tags,
        ingress: [],
        egress: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      });
      return { GroupId: id };
    });
    on(RevokeSecurityGroupIngressCommand, this.ec2, (i: { GroupId: string; IpPermissions: IpPermission[] }) => {
      const g = this.groups.get(i.GroupId)!;
      const key = (p: IpPermission) => JSON.stringify([p.IpProtocol, p.FromPort, p.ToPort]);
      const drop = new Set(i.IpPermissions.map(key));
      g.ingress = g.ingress.filter((p) => !drop.has(key(p)));
      return { Return: true };
    });
    on(AuthorizeSecurityGroupIngressCommand, this.ec2, (i: { GroupId: string; IpPermissions: IpPermission[] }) => {
      this.groups.get(i.GroupId)!.ingress.push(...structuredClone(i.IpPermissions));
      return { Return: true };
    });
    on(AuthorizeSecurityGroupEgressCommand, this.ec2, (i: { GroupId: string; IpPermissions: IpPermission[] }) => {
      this.groups.get(i.GroupId)!.egress.push(...structuredClone(i.IpPermissions));
      return { Return: true };
    });
    on(DeleteSecurityGroupCommand, this.ec2, (i: { GroupId: string }) => {
      if (!this.groups.has(i.GroupId)) throw awsError("InvalidGroup.NotFound");
      const inUse = [...this.vms.values()].some((v) => v.state !== "terminated" && JSON.stringify(v.input).includes(i.GroupId));
      if (inUse) throw awsError("DependencyViolation", `resource ${i.GroupId} has a dependent object`);
      this.groups.delete(i.GroupId);
      return {};
    });
    on(ImportKeyPairCommand, this.ec2, (i: { KeyName: string; PublicKeyMaterial: Uint8Array }) => {
      if (this.keys.has(i.KeyName)) throw awsError("InvalidKeyPair.Duplicate");
      this.keys.set(i.KeyName, new TextDecoder().decode(i.PublicKeyMaterial));
      return { KeyName: i.KeyName };
    });
    on(DeleteKeyPairCommand, this.ec2, (i: { KeyName: string }) => {
      this.keys.delete(i.KeyName);
      return {};
    });
    on(PutParameterCommand, this.ssm, (i: { Name: string; Value: string; Type: string; Overwrite?: boolean }) => {
      if (this.params.has(i.Name) && !i.Overwrite) throw awsError("ParameterAlreadyExists");
      this.params.set(i.Name, { value: i.Value, type: i.Type, tags: this.params.get(i.Name)?.tags ?? [] });
      return { Version: 1 };
    });
    on(AddTagsToResourceCommand, this.ssm, (i: { ResourceId: string; Tags: { Key: string; Value: string }[] }) => {
      const p = this.params.get(i.ResourceId);
      if (!p) throw awsError("InvalidResourceId");
      p.tags = [...p.tags.filter((t) => !i.Tags.some((n) => n.Key === t.Key)), ...i.Tags];
      return {};
    });
    on(DeleteParameterCommand, this.ssm, (i: { Name: string }) => {
      if (!this.params.delete(i.Name)) throw awsError("ParameterNotFound");
      return {};
    });
  }

  private advance(v: Vm) {
    if (v.settle > 0) {
      v.settle--;
      return;
    }
    if (v.state === "stopping") v.state = "stopped";
    else if (v.state === "shutting-down") v.state = "terminated";
    else if (v.state === "pending") v.state = "running";
  }

  private view(v: Vm): Instance {
    return {
      InstanceId: v.id,
      ClientToken: v.token,
      State: { Name: v.state as never },
      Tags: v.tags,
      PrivateIpAddress: v.ip,
      PublicIpAddress: v.state === "running" ? "198.51.100.20" : undefined,
    };
  }

  /** The commands called, by name, in order (optionally only those of a set). */
  names(only?: string[]): string[] {
    return this.log.map(([n]) => n).filter((n) => !only || only.includes(n));
  }

  calls(name: string): Record<string, unknown>[] {
    return this.log.filter(([n]) => n === name).map(([, i]) => i);
  }

  lose(command: string, ...errors: Error[]) {
    this.lost.set(command, [...(this.lost.get(command) ?? []), ...errors]);
  }

  fail(command: string, ...errors: Error[]) {
    this.faults.set(command, [...(this.faults.get(command) ?? []), ...errors]);
  }

  restore() {
    this.ec2.restore();
    this.ssm.restore();
  }
}
