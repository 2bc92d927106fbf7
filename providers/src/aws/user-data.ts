// The user-data of an instance VM (issue 17): the contract between the AWS provider (the EC2/SSM side,
// providers/src/aws/) and the VM image (deploy/image/, docs/vm-image.md).
//
// NO SECRET GOES IN HERE. Any process on the VM can read user-data from the metadata service (and so can
// anyone with ec2:DescribeInstanceAttribute), so user-data only says WHERE to enrol and WHERE the
// credential is: the control plane's URL, the instance id, the region and the SSM parameter's name,
// plus the VM's nginx site (rendered by providers/src/nginx.ts: it names only the Referer origin).
//
// What goes into SSM Parameter Store (the provider's job, before RunInstances):
//   PutParameter { Name: ssmParameterName, Type: "SecureString", Overwrite: true, Value: <enrolment token> }
//   - Value is a one-time enrolment token (`tet_…`, server/src/hosts/enrolment.ts issueEnrolment: only its
//     sha256 is stored by the control plane; it lives 15 minutes and one exchange spends it). It is the
//     same credential the one-liner of a user's machine carries (issue 16), so the VM enrols exactly
//     like one: POST /api/v1/hosts/enrol → the instance's 64-character agent token and the gateway token,
//     which the VM keeps in /var/lib/tropic/agent.json (0600 root) and never anywhere else.
//   - Once spent, the parameter is worthless: a tenant process that somehow reads it later gets a used
//     token. (The image also keeps the metadata service from every user but root: see deploy/image/.)
//   - A create() re-run (the reconciler after a crash, or a VM that did not enrol within the 15 minutes)
//     issues a new token and overwrites the parameter; the VM re-reads the parameter when the control
//     plane refuses a token, so the newest one always wins.
//   - The VM reads it with its instance role (IMDSv2 credentials) using GetParameter WithDecryption, so
//     the instance profile's role needs ssm:GetParameter on exactly this parameter's ARN (and kms:Decrypt
//     on its key, when not the account's default aws/ssm key). Destroy deletes the parameter (phase two).
//   - Server side: enrolHost (server/src/hosts/enrolment.ts) binds a token to a `byo` instance today; an
//     `aws` instance's token must be accepted there too.
//
// What the VM does with this (deploy/image/, baked by provision.sh): cloud-init writes /etc/tropic/vm.json
// and the nginx site, then runcmd starts tropic-enrol.service, which: reads the parameter from SSM
// (SigV4, the role's credentials from IMDSv2), stores the token 0600 root, runs the control plane's own
// installer (/install/host.sh, --token-file: the bundle baked into the image is reused when its version
// is current), removes the spent token, and enables nginx's site. The unit stays enabled until the VM is
// enrolled, so a failure is retried, across reboots too.
import { renderNginxSite } from "../nginx.ts";

export interface UserDataOptions {
  /** the control plane: its public http(s) URL, or the agent endpoint the reconciler hands providers
   *  (ws(s)://…/api/v1/agent/connect); the VM enrols at its http(s) form */
  controlPlaneUrl: string;
  /** the Tropic instance id (a UUID) */
  instanceId: string;
  /** the AWS region of the VM and its SSM parameter */
  region: string;
  /** the SSM parameter holding the enrolment token (see ssmParameterNameFor) */
  ssmParameterName: string;
  /** the only Referer origin the VM's nginx lets through to the gateway (default: the control plane's origin) */
  refererUrl?: string;
}

/** Where the VM keeps what user-data told it (0644 root; no secret). */
export const VM_CONFIG_PATH = "/etc/tropic/vm.json";
/** Where user-data puts the nginx site (the image's placeholder site answers 503 until then). */
export const VM_NGINX_SITE_PATH = "/etc/nginx/sites-available/tropic-openclaw";
/** The unit the image bakes; user-data starts it. */
export const VM_ENROL_UNIT = "tropic-enrol.service";

/** What /etc/tropic/vm.json holds. */
export interface VmConfig {
  controlPlaneUrl: string;
  instanceId: string;
  region: string;
  ssmParameterName: string;
}

/** The SSM parameter name for an instance (a suggestion both sides can use). */
export function ssmParameterNameFor(instanceId: string, prefix = "/tropic/instances"): string {
  return `${prefix.replace(/\/+$/, "")}/${instanceId}/enrolment-token`;
}

/** The control plane's http(s) base URL from an http(s) or ws(s) URL (the agent endpoint's path dropped). */
export function controlPlaneBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`controlPlaneUrl is not a URL: ${url}`);
  }
  if (u.username || u.password) throw new Error("controlPlaneUrl must not carry credentials");
  const proto = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" }[u.protocol];
  if (!proto) throw new Error(`controlPlaneUrl must be http(s) or ws(s), not ${u.protocol}`);
  const path = u.pathname.replace(/\/api\/v1\/agent\/connect\/?$/, "").replace(/\/+$/, "");
  return `${proto}//${u.host}${path}`;
}

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// SSM parameter names: letters, digits and . - _ /, at most 1011 characters, no "aws"/"ssm" prefix.
const SSM_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1010}$/;

/** The VM's configuration from the provider's options, checked (a bad value names its field). */
export function vmConfig(o: UserDataOptions): VmConfig {
  if (!INSTANCE_ID.test(o.instanceId)) throw new Error(`instanceId is invalid: ${JSON.stringify(o.instanceId)}`);
  if (!REGION.test(o.region)) throw new Error(`region is invalid: ${JSON.stringify(o.region)}`);
  if (!SSM_NAME.test(o.ssmParameterName) || /^\/?(aws|ssm)/i.test(o.ssmParameterName) || o.ssmParameterName.includes("//"))
    throw new Error(`ssmParameterName is invalid: ${JSON.stringify(o.ssmParameterName)}`);
  return { controlPlaneUrl: controlPlaneBase(o.controlPlaneUrl), instanceId: o.instanceId, region: o.region, ssmParameterName: o.ssmParameterName };
}

/** A YAML scalar: JSON strings are valid YAML double-quoted scalars. */
const y = (s: string) => JSON.stringify(s);

/** The #cloud-config for one instance VM (well under EC2's 16 KB user-data limit). */
export function renderUserData(o: UserDataOptions): string {
  const cfg = vmConfig(o);
  const site = renderNginxSite({ listen: "80", gatewayPort: 18789, refererUrl: o.refererUrl ?? cfg.controlPlaneUrl });
  const text = [
    "#cloud-config",
    `# Tropic instance ${cfg.instanceId}. No secret here: the VM reads its enrolment token from SSM`,
    `# (${cfg.ssmParameterName}) with its instance role. See docs/vm-image.md.`,
    "write_files:",
    `  - path: ${y(VM_CONFIG_PATH)}`,
    '    owner: "root:root"',
    '    permissions: "0644"',
    `    content: ${y(`${JSON.stringify(cfg, null, 2)}\n`)}`,
    `  - path: ${y(VM_NGINX_SITE_PATH)}`,
    '    owner: "root:root"',
    '    permissions: "0644"',
    `    content: ${y(site)}`,
    "runcmd:",
    `  - [systemctl, enable, --now, --no-block, ${VM_ENROL_UNIT}]`,
    "",
  ].join("\n");
  if (Buffer.byteLength(text) > 16_384) throw new Error("the user-data is over EC2's 16 KB limit");
  return text;
}
