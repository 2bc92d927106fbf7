// The instance's network namespace (netns.ts): the ruleset's text, and a real namespace made, checked
// and removed (as root, with iproute2 and nftables; skipped elsewhere).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BLOCKED_V4, ensureNetns, netnsPath, netnsRules, networkHelperArgv, networkHelpers, removeNetns } from "../src/index.ts";

test("the namespace's ruleset rejects private, loopback, link-local and the host's own addresses; allows loopback and slirp's DNS", () => {
  const rules = netnsRules(["127.0.0.1", "192.0.2.2", "fd00::2", "not an address"]);
  for (const r of BLOCKED_V4) assert.ok(rules.includes(r), r);
  assert.ok(rules.includes("169.254.0.0/16"), "the cloud metadata address");
  assert.ok(rules.includes("192.0.2.2"), "the host's own address");
  assert.ok(!rules.includes("fd00::2") && !rules.includes("not an address"), "only IPv4 addresses go in the set (IPv6 is rejected whole)");
  assert.match(rules, /oifname "lo" accept/);
  assert.match(rules, /ip daddr 10\.0\.2\.3 udp dport 53 accept/);
  assert.match(rules, /meta nfproto ipv6 reject/);
  // Loaded as a whole (the table is deleted first), so a second load replaces it instead of adding rules.
  assert.match(rules, /^table inet tropic_sandbox\ndelete table inet tropic_sandbox\n/);
});

test("the network helper: slirp4netns without host loopback, sandboxed, in a private mount namespace, ending with the agent", () => {
  const argv = networkHelperArgv("tropic-abc");
  assert.deepEqual(argv.slice(0, 5), ["unshare", "--mount", "--propagation", "private", "slirp4netns"]);
  for (const f of ["--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--exit-fd=3", "--configure"]) assert.ok(argv.includes(f), f);
  assert.equal(argv.at(-2), netnsPath("tropic-abc"));
});

const canRun = process.getuid?.() === 0 && networkHelpers().ok;
test("a real namespace: made twice (idempotent), loopback up, the ruleset loaded once, removed", {
  skip: canRun ? false : "needs root, iproute2, nftables and slirp4netns",
}, () => {
  const name = `tropic-nstest-${process.pid}`;
  try {
    ensureNetns(name, ["192.0.2.77"]);
    ensureNetns(name, ["192.0.2.77"]);
    const lo = spawnSync("ip", ["-n", name, "-br", "link", "show", "lo"], { encoding: "utf8" });
    assert.match(lo.stdout, /UNKNOWN|UP/);
    const nft = spawnSync("nsenter", [`--net=${netnsPath(name)}`, "nft", "list", "ruleset"], { encoding: "utf8" });
    assert.equal(nft.stdout.match(/table inet tropic_sandbox/g)?.length, 1, nft.stdout);
    assert.match(nft.stdout, /192\.0\.2\.77/);
    assert.throws(() => ensureNetns("../../etc", []), /bad namespace name/);
  } finally {
    removeNetns(name);
  }
  assert.equal(spawnSync("ip", ["-n", name, "link"], { stdio: "ignore" }).status === 0, false, "gone");
});
