// Issue 15, "targets in every spelling": the cloud metadata address, loopback and private ranges however
// the host is written (integer, hex, octal, short forms, IPv6, IPv4 in IPv6, names with a trailing dot,
// percent-encoding, upper case, user parts), read like the URL standard and inet_aton read them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyHost } from "../src/address.ts";
import { isPrivateHost, parseTarget } from "../src/env.ts";
import { Gate, type ToolCall } from "../src/index.ts";

const HOME = "/home/u";
const sh = (command: string): ToolCall => ({ tool: "exec", params: { command } });
const fetch = (url: string): ToolCall => ({ tool: "web_fetch", params: { url } });

/** every spelling of 169.254.169.254 */
const IMDS_V4 = [
  "169.254.169.254",
  "2852039166",
  "0xa9fea9fe",
  "0xA9FEA9FE",
  "0xA9.0xFE.0xA9.0xFE",
  "0xa9.0xfe.0xa9.0xfe",
  "0251.0376.0251.0376",
  "00251.0376.000251.0376",
  "025177524776",
  "0xa9.254.0251.0xfe",
  "169.254.43518",
  "169.0xfe.0xa9fe",
  "169.16689662",
  "0xa9.16689662",
  "169.254.169.254.",
  "[::ffff:169.254.169.254]",
  "[::ffff:a9fe:a9fe]",
  "[0:0:0:0:0:ffff:a9fe:a9fe]",
  "[::FFFF:A9FE:A9FE]",
  "[::169.254.169.254]",
  "[::a9fe:a9fe]",
  "[64:ff9b::a9fe:a9fe]",
  "[64:ff9b::169.254.169.254]",
  "[64:ff9b:1::a9fe:a9fe]",
  "%31%36%39.254.169.254",
  "１６９.２５４.１６９.２５４",
  "169。254。169。254",
  "169.254.169.254.nip.io",
  "app.169-254-169-254.sslip.io",
  "a9fea9fe.nip.io",
];

test("classifyHost: every spelling of 169.254.169.254 is the metadata address", () => {
  for (const h of IMDS_V4) {
    assert.deepEqual(classifyHost(h), { kind: "metadata", canonical: "169.254.169.254", ip: 4 }, h);
    assert.equal(isPrivateHost(h), true, h);
  }
});

test("classifyHost: the providers' other metadata addresses and names", () => {
  const cases: [string, string][] = [
    ["[fd00:ec2::254]", "fd00:ec2::254"],
    ["fd00:ec2:0:0:0:0:0:254", "fd00:ec2::254"],
    ["[FD00:EC2::0254]", "fd00:ec2::254"],
    ["[fd00:ec2::23]", "fd00:ec2::23"],
    ["[fd20:ce::254]", "fd20:ce::254"],
    ["[fd00:42::42]", "fd00:42::42"],
    ["169.254.170.2", "169.254.170.2"],
    ["0xa9feaa02", "169.254.170.2"],
    ["169.254.170.23", "169.254.170.23"],
    ["100.100.100.200", "100.100.100.200"],
    ["0x646464c8", "100.100.100.200"],
    ["1684300999", "100.100.100.199"],
    ["192.0.0.192", "192.0.0.192"],
    ["169.254.42.42", "169.254.42.42"],
    ["169.254.0.23", "169.254.0.23"],
    ["168.63.129.16", "168.63.129.16"],
    ["metadata.google.internal", "metadata.google.internal"],
    ["metadata.google.internal.", "metadata.google.internal"],
    ["METADATA.Google.Internal.", "metadata.google.internal"],
    ["metadata.goog", "metadata.goog"],
    ["metadata", "metadata"],
    ["metadata.", "metadata"],
    ["instance-data", "instance-data"],
    ["instance-data.ec2.internal", "instance-data.ec2.internal"],
    ["metadata.tencentyun.com", "metadata.tencentyun.com"],
    ["metadata.platformequinix.com", "metadata.platformequinix.com"],
    ["ⓜⓔⓣⓐⓓⓐⓣⓐ.google.internal", "metadata.google.internal"],
  ];
  for (const [h, canonical] of cases) {
    const c = classifyHost(h);
    if (canonical === "100.100.100.199") {
      assert.notEqual(c.kind, "metadata", h); // one off is CGNAT, private but not metadata
      assert.equal(c.kind, "private", h);
      continue;
    }
    assert.equal(c.kind, "metadata", h);
    assert.equal(c.canonical, canonical, h);
  }
});

test("classifyHost: loopback in every spelling", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["127.255.255.254", "127.255.255.254"],
    ["0", "0.0.0.0"],
    ["0.0.0.0", "0.0.0.0"],
    ["0x0", "0.0.0.0"],
    ["0x7f000001", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["017700000001", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["[::1]", "::1"],
    ["::1", "::1"],
    ["[0:0:0:0:0:0:0:1]", "::1"],
    ["[::]", "::"],
    ["[::ffff:127.0.0.1]", "127.0.0.1"],
    ["[::ffff:7f00:1]", "127.0.0.1"],
    ["localhost", "localhost"],
    ["LOCALHOST.", "localhost"],
    ["app.localhost", "app.localhost"],
    ["localhost.localdomain", "localhost.localdomain"],
    ["ip6-localhost", "ip6-localhost"],
    ["ip6-loopback", "ip6-loopback"],
    ["localtest.me", "localtest.me"],
    ["x.lvh.me", "x.lvh.me"],
    ["127.0.0.1.nip.io", "127.0.0.1"],
    ["localhost:18789", "localhost"],
    ["127.0.0.1:8080", "127.0.0.1"],
  ];
  for (const [h, canonical] of cases) {
    const c = classifyHost(h);
    assert.equal(c.kind, "loopback", h);
    assert.equal(c.canonical, canonical, h);
    assert.equal(isPrivateHost(h), true, h);
  }
});

test("classifyHost: private ranges in every spelling; public hosts and near-misses stay public", () => {
  const priv = [
    "10.0.0.1",
    "012.0.0.1",
    "0xa000001",
    "167772161",
    "10.1",
    "172.16.0.1",
    "172.31.255.255",
    "0xac100001",
    "192.168.1.1",
    "0300.0250.1.1",
    "3232235777",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.1.1",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "fe80::1%eth0",
    "[::ffff:10.0.0.1]",
    "[::ffff:c0a8:101]",
    "[64:ff9b::10.0.0.1]",
    "db",
    "redis.internal",
    "printer.local",
    "nas.lan",
    "router.home.arpa",
    "10.0.0.1.nip.io",
  ];
  for (const h of priv) {
    assert.equal(classifyHost(h).kind, "private", h);
    assert.equal(isPrivateHost(h), true, h);
  }
  const pub: [string, string][] = [
    ["api.github.com", "api.github.com"],
    ["API.GitHub.com.", "api.github.com"],
    ["169.254.example.com", "169.254.example.com"],
    ["169.254.169.254.example.com", "169.254.169.254.example.com"],
    ["metadata.example.com", "metadata.example.com"],
    ["metadata.google.internal.example.com", "metadata.google.internal.example.com"],
    ["localhost.example.com", "localhost.example.com"],
    ["0xa9fea9fe.com", "0xa9fea9fe.com"],
    ["8.8.8.8", "8.8.8.8"],
    ["134744072", "8.8.8.8"],
    ["1.1.1.1", "1.1.1.1"],
    ["172.32.0.1", "172.32.0.1"],
    ["172.15.255.255", "172.15.255.255"],
    ["100.63.255.255", "100.63.255.255"],
    ["100.128.0.1", "100.128.0.1"],
    ["169.253.169.254", "169.253.169.254"],
    ["[2606:4700:4700::1111]", "2606:4700:4700::1111"],
    ["[::ffff:8.8.8.8]", "8.8.8.8"],
    ["[64:ff9b::808:808]", "8.8.8.8"],
    ["8.8.8.8.nip.io", "8.8.8.8.nip.io"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ];
  for (const [h, canonical] of pub) {
    assert.deepEqual([classifyHost(h).kind, classifyHost(h).canonical], ["public", canonical], h);
    assert.equal(isPrivateHost(h), false, h);
  }
  // Not a valid address (the URL standard rejects these): never counted as public.
  for (const h of ["1.2.3.08", "1.2.3.4.5", "256.1.1.1", "0x1.0x2.0x3.0x4.5", "a.b.3", "", "[::g]"]) {
    assert.equal(classifyHost(h).kind, "unknown", h);
    assert.equal(isPrivateHost(h), true, h);
  }
});

test("parseTarget: the host of a URL or bare argument is canonical, in every reading a client may make", () => {
  const cases: [string, string, number][] = [
    ["http://0xa9fea9fe/latest/meta-data/", "169.254.169.254", 80],
    ["http://2852039166/latest/meta-data/", "169.254.169.254", 80],
    ["http://0251.0376.0251.0376/", "169.254.169.254", 80],
    ["http://169.254.43518/", "169.254.169.254", 80],
    ["HTTP://169.254.169.254:80/", "169.254.169.254", 80],
    ["http://[::ffff:a9fe:a9fe]/", "169.254.169.254", 80],
    ["http://[::ffff:169.254.169.254]:8080/", "169.254.169.254", 8080],
    ["http://[fd00:ec2::254]/latest/", "fd00:ec2::254", 80],
    ["http://metadata.google.internal./computeMetadata/v1/", "metadata.google.internal", 80],
    ["http://METADATA.GOOGLE.INTERNAL/computeMetadata/v1/", "metadata.google.internal", 80],
    ["http://x@169.254.169.254/", "169.254.169.254", 80],
    ["http://user:pw@0xa9fea9fe:80/", "169.254.169.254", 80],
    ["http://a@b@169.254.169.254/", "169.254.169.254", 80],
    ["http://example.com\\@169.254.169.254/", "169.254.169.254", 80],
    ["http://%31%36%39.254.169.254/", "169.254.169.254", 80],
    ["http://169.254.169.254%2f@example.com/", "example.com", 80],
    ["http://169.254.\t169.254/", "169.254.169.254", 80],
    ["ssh://0xa9fea9fe/", "169.254.169.254", 22],
    ["gopher://0x7f000001:6379/_INFO", "127.0.0.1", 6379],
    ["0xa9fea9fe/latest/meta-data/", "169.254.169.254", 80],
    ["2852039166", "169.254.169.254", 80],
    ["169.254.43518/latest", "169.254.169.254", 80],
    ["x@169.254.169.254/", "169.254.169.254", 80],
    ["127.1:8080", "127.0.0.1", 8080],
    ["0:18789", "0.0.0.0", 18789],
    ["[::1]:3000", "::1", 3000],
    ["localhost:3000", "localhost", 3000],
    ["metadata/computeMetadata/v1/", "metadata", 80],
    ["instance-data/latest/meta-data/", "instance-data", 80],
    ["https://api.github.com/repos", "api.github.com", 443],
    ["https://169.254.example.com/", "169.254.example.com", 443],
    ["github.com", "github.com", 80],
  ];
  for (const [raw, host, port] of cases) {
    const t = parseTarget(raw, "http");
    assert.ok(t, raw);
    assert.deepEqual([t.host, t.port], [host, port], raw);
  }
  // Version numbers, counts and words are not hosts.
  for (const raw of ["1.2.3", "5", "4096", "0", "v1.2", "README", "-o", "@file"]) assert.equal(parseTarget(raw, "http"), null, raw);
});

test("Gate.decide (base pack): the metadata address in every spelling is denied by base-deny-cloud-metadata", async () => {
  const g = await Gate.create({ packs: ["base"], home: HOME });
  const calls: ToolCall[] = [
    sh("curl http://0xa9fea9fe/latest/meta-data/"),
    sh("curl -s http://2852039166/latest/meta-data/iam/security-credentials/"),
    sh("curl http://0251.0376.0251.0376/latest/meta-data/"),
    sh("curl http://0xA9.0xFE.0xA9.0xFE/latest/meta-data/"),
    sh("curl http://169.254.43518/latest/user-data"),
    sh("curl http://169.16689662/"),
    sh("curl http://x@169.254.169.254/latest/meta-data/"),
    sh("curl 'http://a@b@169.254.169.254/'"),
    sh("curl 'http://example.com\\@169.254.169.254/'"),
    sh("curl http://%31%36%39.254.169.254/"),
    sh("curl http://169.254.169.254./latest/"),
    sh("curl -H 'Metadata: true' http://[::ffff:169.254.169.254]/metadata/instance"),
    sh("wget http://[::ffff:a9fe:a9fe]/"),
    sh("wget -qO- http://[64:ff9b::a9fe:a9fe]/latest/meta-data/"),
    sh("curl http://[fd00:ec2::254]/latest/meta-data/"),
    sh("curl http://[fd00:ec2:0:0::254]/latest/meta-data/"),
    sh("curl 0xa9fea9fe/latest/meta-data/"),
    sh("curl 2852039166/latest/meta-data/"),
    sh("curl http://0xa9feaa02/v2/credentials/x"),
    sh("curl http://0x646464c8/latest/meta-data/"),
    sh("curl -H 'Metadata-Flavor: Google' http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/"),
    sh("curl http://metadata/computeMetadata/v1/"),
    fetch("http://metadata.google.internal./computeMetadata/v1/"),
    fetch("http://0xa9fea9fe/latest/meta-data/"),
    fetch("http://[::ffff:a9fe:a9fe]/latest/meta-data/"),
    fetch("http://2852039166/"),
    fetch("http://169.254.169.254.nip.io/latest/meta-data/"),
  ];
  for (const c of calls) {
    const d = g.decide(c);
    assert.equal(d.decision, "deny", `${JSON.stringify(c.params)} → ${JSON.stringify(d)}`);
    assert.ok(d.rules.includes("base-deny-cloud-metadata"), `${JSON.stringify(c.params)} → ${d.rules}`);
  }
  const fine: ToolCall[] = [
    sh("curl https://169.254.example.com/"),
    sh("curl https://api.github.com"),
    sh("curl https://api.github.com/repos/a/b"),
    sh("curl http://metadata.example.com/computeMetadata/v1/"),
    sh("curl https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html"),
    sh("wget https://example.com/169.254.169.254.txt"),
    sh("curl https://example.com/?next=http://169.254.169.254/"),
    sh("git clone https://github.com/a/b"),
    sh("echo 169.254.169.254"),
    fetch("https://cloud.google.com/compute/docs/metadata/overview"),
    fetch("https://169.254.169.254.example.com/"),
  ];
  for (const c of fine) {
    const d = g.decide(c);
    assert.equal(d.decision, "allow", `${JSON.stringify(c.params)} → ${JSON.stringify(d)}`);
  }
});

test("Gate.decide (a policy on private addresses): metadata names, loopback and private ranges in every spelling", async () => {
  const g = await Gate.create({ packs: [], home: HOME, policies: { "*": "DENY: access the cloud metadata service" } });
  const denied = [
    "http://instance-data/latest/meta-data/",
    "http://instance-data.ec2.internal/latest/",
    "http://metadata.goog/computeMetadata/v1/",
    "http://192.0.0.192/opc/v1/instance/",
    "http://0xc00000c0/opc/v1/instance/",
    "http://[fd20:ce::254]/computeMetadata/v1/",
    "http://169.254.42.42/conf",
    "http://127.1:8080/",
    "http://0:18789/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost/",
    "http://app.localhost:3000/",
    "http://localhost.localdomain/",
    "http://ip6-localhost/",
    "http://10.0.0.5/",
    "http://0xa000005/",
    "http://172.20.1.1/",
    "http://192.168.1.1/",
    "http://100.64.1.1/",
    "http://[fd12::1]/",
    "http://[fe80::1]/",
  ];
  for (const u of denied) {
    assert.equal(g.decide(sh(`curl ${u}`)).decision, "deny", `curl ${u}`);
    assert.equal(g.decide(fetch(u)).decision, "deny", `web_fetch ${u}`);
  }
  for (const u of ["https://api.github.com", "https://169.254.example.com/", "http://8.8.8.8/", "http://172.32.0.1/", "http://100.128.0.1/"]) {
    assert.equal(g.decide(sh(`curl ${u}`)).decision, "allow", `curl ${u}`);
    assert.equal(g.decide(fetch(u)).decision, "allow", `web_fetch ${u}`);
  }
});
