// Tropic VM image: reads this instance's enrolment token from SSM Parameter Store (GetParameter
// WithDecryption) with the instance role's credentials from the metadata service (IMDSv2), and writes
// it to a file (0600). Run as root by enrol.sh (tropic-enrol.service) on the host bundle's Node; plain
// ESM, no dependency (a SigV4 signer of its own: the AWS SDK would be 10 MB more in the image for one call).
//
//   node ssm-credential.mjs --config /etc/tropic/vm.json --out /run/tropic-enrol/token
//
// The token is never printed, logged or put in an error. Endpoints: the metadata service at
// 169.254.169.254 and SSM at https://ssm.<region>.amazonaws.com. Only a TEST image (provision.sh
// --test-endpoints) has /etc/tropic/aws-endpoints.json naming others (the tests' MOCK ones): it is
// baked into the image, root's and not writable by anyone else (refused otherwise), and neither
// user-data nor anything on the network can name an endpoint (docs/vm-image.md, "Endpoints").
import { createHash, createHmac } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

export const ENDPOINTS_FILE = "/etc/tropic/aws-endpoints.json";
const IMDS = "http://169.254.169.254";

const sha256hex = (s) => createHash("sha256").update(s).digest("hex");
const hmac = (key, s) => createHmac("sha256", key).update(s).digest();

/** AWS Signature Version 4 headers for one request (host, x-amz-date, x-amz-security-token, authorization). */
export function signV4({ method, url, headers = {}, body = "", region, service, credentials, now = new Date() }) {
  const u = new URL(url);
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const date = amzDate.slice(0, 8);
  const all = {
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v).trim()])),
    host: u.host,
    "x-amz-date": amzDate,
  };
  if (credentials.sessionToken) all["x-amz-security-token"] = credentials.sessionToken;
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => `${n}:${all[n].replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const query = [...u.searchParams.entries()]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [method, u.pathname || "/", query, canonicalHeaders, signedHeaders, sha256hex(body)].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), "aws4_request");
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** The endpoints: AWS's, or a test image's baked file (root's, not writable by others; refused otherwise). */
export function endpoints(region, file = ENDPOINTS_FILE) {
  const real = { imds: IMDS, ssm: `https://ssm.${region}.amazonaws.com` };
  let st;
  try {
    st = statSync(file);
  } catch {
    return real;
  }
  if (st.uid !== 0 || (st.mode & 0o022) !== 0 || (statSync(dirname(file)).mode & 0o022) !== 0)
    throw new Error(`${file} is not root's alone (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): refusing its endpoints`);
  const o = JSON.parse(readFileSync(file, "utf8"));
  for (const k of ["imds", "ssm"])
    if (typeof o[k] !== "string" || !/^https?:\/\/[^/?#@]+\/?$/.test(o[k])) throw new Error(`${file}: ${k} is not a base URL`);
  return { imds: o.imds.replace(/\/$/, ""), ssm: o.ssm.replace(/\/$/, "") };
}

async function call(url, init, what) {
  let res;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  } catch (e) {
    throw Object.assign(new Error(`${what}: ${e.cause?.code ?? e.message}`), { transient: true });
  }
  const text = await res.text();
  if (!res.ok) {
    // AWS's error shape: {"__type":"…#ParameterNotFound","message":"…"}; never a value of ours in it
    let type = "";
    try {
      type = String(JSON.parse(text).__type ?? "")
        .split("#")
        .pop();
    } catch {}
    throw Object.assign(new Error(`${what}: HTTP ${res.status}${type ? ` ${type}` : ""}`), {
      transient: res.status >= 500 || res.status === 429 || type === "ThrottlingException",
      status: res.status,
    });
  }
  return text;
}

/** The instance role's temporary credentials, through IMDSv2 (a session token first: IMDSv1 is off). */
export async function roleCredentials(imds) {
  const token = await call(
    `${imds}/latest/api/token`,
    { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "300" } },
    "the metadata service (token)",
  );
  const h = { "x-aws-ec2-metadata-token": token };
  const roles = await call(`${imds}/latest/meta-data/iam/security-credentials/`, { headers: h }, "the metadata service (role)");
  const role = roles.split("\n")[0]?.trim();
  if (!role || !/^[\w+=,.@-]+$/.test(role)) throw new Error("the metadata service names no instance role (is the instance profile attached?)");
  const c = JSON.parse(await call(`${imds}/latest/meta-data/iam/security-credentials/${role}`, { headers: h }, "the metadata service (credentials)"));
  if (c.Code && c.Code !== "Success") throw new Error(`the metadata service has no credentials for ${role}: ${c.Code}`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token, role };
}

/** SSM GetParameter WithDecryption, signed with the role's credentials; the parameter's value. */
export async function getParameter({ ssm, region, name, credentials, now }) {
  const body = JSON.stringify({ Name: name, WithDecryption: true });
  const url = `${ssm}/`;
  const headers = signV4({
    method: "POST",
    url,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter", "x-amz-content-sha256": sha256hex(body) },
    body,
    region,
    service: "ssm",
    credentials,
    now,
  });
  delete headers.host; // fetch sets it (the same value)
  const text = await call(url, { method: "POST", headers, body }, `SSM GetParameter ${name}`);
  const value = JSON.parse(text)?.Parameter?.Value;
  if (typeof value !== "string" || !value) throw new Error(`SSM GetParameter ${name}: the answer has no value`);
  return value;
}

/** Writes the secret to `out`, 0600, atomically (never through an existing file or link). */
export function writeSecret(out, value) {
  const tmp = join(dirname(out), `.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
}

export async function main(argv) {
  const arg = (n) => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const config = arg("--config") ?? "/etc/tropic/vm.json";
  const out = arg("--out");
  if (!out) throw new Error("--out FILE is needed");
  const cfg = JSON.parse(readFileSync(config, "utf8"));
  const ep = endpoints(cfg.region);
  const tries = Number(arg("--tries") ?? 10);
  for (let i = 1; ; i++) {
    try {
      const credentials = await roleCredentials(ep.imds);
      const value = await getParameter({ ssm: ep.ssm, region: cfg.region, name: cfg.ssmParameterName, credentials });
      writeSecret(out, value);
      process.stderr.write(
        `ssm-credential: read ${cfg.ssmParameterName} with the role ${credentials.role} (${value.length} characters, kept 0600)\n`,
      );
      return;
    } catch (e) {
      if (!e.transient || i >= tries) throw e;
      process.stderr.write(`ssm-credential: ${e.message}; trying again (${i}/${tries})\n`);
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** i, 8_000)));
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`ssm-credential: error: ${e.message}\n`);
    process.exit(1);
  });
