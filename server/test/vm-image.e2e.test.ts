// The cloud VM (issue 17) on a real booted host: the aws provider's create, with AWS's API the only mock
// (aws-sdk-client-mock for EC2 and SSM's PutParameter, a MOCK metadata service and a MOCK SSM endpoint for
// what the VM asks), launches the "VM": a Debian host (server/test/booted-host.ts) provisioned by the image's
// own script (deploy/image/provision.sh, run on its root filesystem as Packer runs it on Ubuntu) and booted
// with the user-data the provider rendered as its cloud-init NoCloud seed. cloud-init runs it; the VM reads
// its enrolment token from the MOCK SSM endpoint (SigV4 with the instance role's credentials from the MOCK
// IMDSv2), enrols with the control plane, and its services start; nginx answers the health check (200 →
// running, the provider's healthUrl on the VM's private address); /chat without the Referer gets 403, the
// Control UI through Tropic's proxy works; the seed's services are masked; the security group's rules, as the
// provider sends them to AWS, rendered as nftables rules in front of the VM, let the proxy's address reach
// port 80 and refuse every other source and port. One VM for all the subtests; everything is cleaned up.
//
// Only AWS's endpoints are mocks; cloud-init, systemd, nginx and nftables are Debian's own. The image is built
// with --skip-desktop here (XFCE and Chrome are too heavy for the test host): the desktop's units are still
// installed and checked with systemd-analyze verify.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { eq } from "drizzle-orm";
import { instances } from "../src/db/schema.ts";
import { bootedHostSkip } from "./booted-host.ts";
import { sleep } from "./instances-harness.ts";
import { cloudStandIn, curl, footprint, REGION } from "./vm-standin.ts";

const skip = bootedHostSkip();
const OTHER_SOURCE = "203.0.113.7"; // an address that is not Tropic's proxy (TEST-NET-3)
/** The seed's table of services that waste RAM on a 1 GB box (system units), and PipeWire's user units. */
const MASKED = [
  "apt-daily.timer",
  "unattended-upgrades.service",
  "multipathd.service",
  "rtkit-daemon.service",
  "packagekit.service",
  "udisks2.service",
  "avahi-daemon.service",
];
const MASKED_USER = ["pipewire.service", "pipewire.socket"];

test("MOCK AWS (EC2, SSM, IMDS): the image on a booted Debian VM: user-data → SSM token → enrolled → running via nginx; Referer; masked services; the security group", {
  skip,
  timeout: 25 * 60_000,
}, async (t) => {
  const c = await cloudStandIn(t);
  const { api, calls, timings, port, seen, parameters, logs, provider, settings, database, imdsPort } = c;
  let instanceId = "";
  let createToRunningMs = 0;
  await t.test(
    "create → the VM boots the image, cloud-init runs the user-data, the token comes from MOCK SSM, the VM enrols, running through nginx",
    async () => {
      const t0 = Date.now();
      const created = await api.call("POST", "/api/v1/instances", { name: "cloud", provider: "aws", region: REGION, instanceType: "t3.micro" });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      instanceId = created.json.id;
      const running = await api
        .until(`/api/v1/instances/${instanceId}`, (j) => j?.state === "running" || j?.state === "failed", 12 * 60_000, "running")
        .catch(async (e) => {
          const logs = c.host
            ? await c.host.exec(
                "journalctl -u tropic-enrol -u cloud-final --no-pager | tail -n 60; tail -n 30 /var/lib/tropic/agent.log /var/lib/tropic/gateway.log",
              )
            : null;
          throw new Error(`${(e as Error).message}\n${logs?.stdout ?? ""}${logs?.stderr ?? ""}`);
        });
      createToRunningMs = Date.now() - t0;
      assert.equal(running.state, "running", JSON.stringify(running));
      const h = c.host!;
      t.diagnostic(
        `create → running ${(createToRunningMs / 1000).toFixed(1)} s (image provisioning ${(timings.provisionMs / 1000).toFixed(1)} s of the host's setup ${(timings.setupMs / 1000).toFixed(1)} s, boot to multi-user incl. enrolment ${(timings.bootMs / 1000).toFixed(1)} s)`,
      );
      assert.deepEqual(
        calls.slice(0, 3),
        ["CreateSecurityGroup", "PutParameter SecureString", "RunInstances"],
        "the token is in SSM before the VM boots",
      );

      // cloud-init ran the provider's user-data (Debian's cloud-init, NoCloud)
      const ci = await h.exec("cloud-init status --long; cat /etc/tropic/vm.json; stat -c '%a %U' /etc/tropic/vm.json");
      assert.match(ci.stdout, /status: done/, ci.stdout);
      const vmJson = JSON.parse(/\{[\s\S]*\}/.exec(ci.stdout)![0]);
      assert.deepEqual(vmJson, {
        controlPlaneUrl: `http://tropic-control:${port}`,
        instanceId,
        region: REGION,
        ssmParameterName: `/tropic/instances/${instanceId}/enrolment-token`,
      });
      // The token: read once from the MOCK SSM endpoint, signed with the role's IMDSv2 credentials, decrypted
      assert.ok(seen.ssm.length >= 1, "the VM asked SSM");
      assert.deepEqual(seen.ssm[0], {
        name: `/tropic/instances/${instanceId}/enrolment-token`,
        withDecryption: true,
        signature: "valid",
        token: true,
      });
      assert.equal(seen.ssm.filter((s) => s.signature !== "valid").length, 0, "every SSM request was signed with the role's credentials");
      assert.ok(seen.imdsCreds >= 1);
      const token = parameters.get(`/tropic/instances/${instanceId}/enrolment-token`)!;
      assert.match(token, /^tet_/, "SSM held a one-time enrolment token");
      // Enrolled: the credential 0600 root, the spent token gone from the VM; no secret in user-data, logs or the journal
      const cred = await h.exec(
        "stat -c '%a %U' /var/lib/tropic/agent.json; ls /run/tropic-enrol/ 2>/dev/null; systemctl is-active tropic-agent.service openclaw-gateway.service nginx.service; systemctl is-enabled tropic-enrol.service",
      );
      assert.match(cred.stdout, /^600 root\n(host\.sh\n)?active\nactive\nactive\nenabled\n$/, cred.stdout);
      const leaks = await h.exec(
        `grep -rl -F -e '${token}' /var/lib/cloud /var/log /etc /run/tropic-enrol 2>/dev/null; journalctl --no-pager | grep -c -F -e '${token}'; true`,
      );
      assert.equal(leaks.stdout.trim(), "0", `the enrolment token is nowhere on the VM but in memory: ${leaks.stdout}`);
      const ud = await h.exec("cat /var/lib/cloud/instance/user-data.txt");
      assert.ok(!ud.stdout.includes(token) && !/tet_/.test(ud.stdout), "no secret in user-data");
      assert.ok(!logs.join("").includes(token), "the control plane never logged the token");
      // The health check is nginx on the VM's private address, and it says 200
      const obs = await provider.describe((await database.db.select().from(instances).where(eq(instances.id, instanceId)))[0]!.providerRef!);
      assert.equal(obs.healthUrl, `http://${c.vmIp}/healthz`);
      assert.equal(curl(obs.healthUrl!).status, 200);
      // A spent token, asked for again, is refused: reading SSM later gets nothing of use
      const again = await fetch(`http://127.0.0.1:${port}/api/v1/hosts/enrol`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token, host: { os: "linux", arch: "x64", hostname: "x", agentVersion: "0", openclawVersion: "0" } }),
      });
      assert.equal(again.status, 401);
    },
  );

  await t.test("nginx: /chat without the Referer gets 403; with Tropic's Referer it reaches the gateway; Tropic's proxy works", async () => {
    const h = c.host!;
    assert.ok(h && instanceId, "the VM is up");
    const direct = curl(`http://${c.vmIp}/chat`);
    assert.equal(direct.status, 403, "a direct request to /chat is refused");
    assert.equal(curl(`http://${c.vmIp}/chat`, { referer: "https://evil.example/" }).status, 403);
    assert.equal(curl(`http://${c.vmIp}/chat`, { referer: `http://tropic-control:${port}.evil.example/` }).status, 403, "a look-alike origin");
    const withReferer = curl(`http://${c.vmIp}/i/${instanceId}/`, { referer: `http://tropic-control:${port}/i/${instanceId}/` });
    assert.equal(withReferer.status, 200, "the Control UI, through nginx with Tropic's Referer");
    const proxied = await api.until(`/i/${instanceId}/readyz`, (j) => j?.ready === true, 60_000, "ready through Tropic's proxy");
    assert.equal(proxied.ready, true);
    const ui = await fetch(`http://127.0.0.1:${port}/i/${instanceId}/`, { headers: api.auth });
    assert.equal(ui.status, 200, "the Control UI through Tropic's proxy");
    await ui.body?.cancel();
  });

  await t.test(
    "the image: the seed's services masked, the gateway on loopback, the desktop's units verified, the metadata service root-only",
    async () => {
      const h = c.host!;
      const masked = await h.exec(`systemctl is-enabled ${MASKED.join(" ")}; systemctl --global is-enabled ${MASKED_USER.join(" ")}; true`);
      assert.deepEqual(
        masked.stdout.trim().split("\n"),
        [...MASKED, ...MASKED_USER].map(() => "masked"),
        masked.stdout,
      );
      const active = await h.exec(`systemctl is-active ${MASKED.join(" ")}; true`);
      assert.ok(!/^active$/m.test(active.stdout), `none runs: ${active.stdout}`);
      const listen = await h.exec("ss -ltnH 2>/dev/null || cat /proc/net/tcp");
      assert.doesNotMatch(listen.stdout, /(0\.0\.0\.0|\*|\[::\]):18789/, "the gateway binds loopback (no bind override)");
      // chrome-headed.service and the desktop: installed, valid units, skipped in an image without a desktop
      const verify = await h.exec(
        "systemd-analyze verify /etc/systemd/system/chrome-headed.service /etc/systemd/system/tropic-desktop.service /etc/systemd/system/tropic-enrol.service /etc/systemd/system/tropic-vm-firewall.service 2>&1; echo rc=$?",
      );
      assert.match(verify.stdout, /rc=0\s*$/, verify.stdout);
      // (systemd-analyze also loads the units they name: tropic-host's keys for systemd ≥ 254 warn on bookworm's 252)
      const ours = verify.stdout.split("\n").filter((l) => /(chrome-headed|tropic-desktop|tropic-enrol|tropic-vm-firewall)\.service/.test(l));
      assert.deepEqual(ours, [], verify.stdout);
      const chrome = await h.exec("systemctl is-enabled chrome-headed.service; systemctl show -p ConditionResult --value chrome-headed.service");
      assert.match(chrome.stdout, /^enabled\n/, chrome.stdout);
      // The instance role's credentials are root's: the gateway's user cannot reach the metadata service
      const asGateway = await h.exec(
        `setpriv --reuid=tropic-gw --regid=tropic-gw --clear-groups curl -s -o /dev/null -w '%{http_code}' -m 3 -X PUT -H 'x-aws-ec2-metadata-token-ttl-seconds: 60' http://${h.hostAddress}:${imdsPort}/latest/api/token; echo " rc=$?"`,
      );
      assert.match(asGateway.stdout, /rc=(7|28|56)\s*$/, `the gateway's user is refused: ${asGateway.stdout}`);
      const asRoot = await h.exec(
        `curl -s -o /dev/null -w '%{http_code}' -m 3 -X PUT -H 'x-aws-ec2-metadata-token-ttl-seconds: 60' http://${h.hostAddress}:${imdsPort}/latest/api/token`,
      );
      assert.equal(asRoot.stdout.trim(), "200", "root (the enrolment, the agent) still can");
    },
  );

  await t.test("the security group as nftables: the proxy reaches port 80; other sources and ports time out; re-applied from scratch", async () => {
    const h = c.host!;
    assert.ok(c.sg?.IpPermissions?.length, "the provider applied its rules");
    // A second source on this machine (not Tropic's proxy), with a way back from the VM
    const setup = spawnSync(
      "sh",
      [
        "-c",
        [
          "set -e",
          `ip addr add ${OTHER_SOURCE}/32 dev ${c.iface}`,
          `ip -n ${h.netns} route add ${OTHER_SOURCE}/32 dev eth0 src ${c.vmIp}`,
          // (the test host's own table only lets the VM answer its hostAddress: this source too)
          `nft insert rule inet tropic_host_${h.netns.replace("tropic-host-", "")} input iifname "${c.iface}" ip daddr ${OTHER_SOURCE} accept`,
        ].join("\n"),
      ],
      { encoding: "utf8" },
    );
    assert.equal(setup.status, 0, setup.stderr);
    // something listening on a port the group does not open
    await h.exec("systemd-run --unit=tropic-test-8080 python3 -m http.server 8080 --bind 0.0.0.0");
    await sleep(1000);
    assert.equal((await h.exec("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/")).stdout, "200", "it answers inside the VM");
    const vmUrl = (p: number, path = "/healthz") => `http://${c.vmIp}:${p}${path}`;

    assert.equal(curl(vmUrl(80)).status, 200, "the proxy's address reaches nginx on 80");
    const p8080 = curl(vmUrl(8080, "/"));
    assert.equal(p8080.code, 28, `8080 is not in the group: times out (curl ${p8080.code})`);
    const p22 = curl(vmUrl(22, "/"));
    assert.equal(p22.code, 28, "22: no SSH allowlist, nobody");
    const p443 = curl(vmUrl(443, "/"));
    assert.equal(p443.code, 7, "443 is open to the proxy (nothing listens: refused at once, not dropped)");
    const other80 = curl(vmUrl(80), { from: OTHER_SOURCE });
    assert.equal(other80.code, 28, `another source is refused on 80 (curl ${other80.code})`);
    assert.equal(curl(vmUrl(8080, "/"), { from: OTHER_SOURCE }).code, 28);

    // The same source, once the rule set names it (revoke all, then the set from scratch), gets in: the group decides
    const ref = (await database.db.select().from(instances).where(eq(instances.id, instanceId)))[0]!.providerRef!;
    const before = calls.length;
    settings.proxyCidrs = [`${h.hostAddress}/32`, `${OTHER_SOURCE}/32`];
    await provider.applyNetworkRules(ref, { sshAllowlist: [], gatewayFrom: [] });
    assert.deepEqual(calls.slice(before), ["RevokeSecurityGroupIngress", "AuthorizeSecurityGroupIngress"]);
    assert.equal(curl(vmUrl(80), { from: OTHER_SOURCE }).status, 200, "named in the group: it reaches nginx");
    settings.proxyCidrs = [`${h.hostAddress}/32`];
    await provider.applyNetworkRules(ref, { sshAllowlist: [], gatewayFrom: [] });
    assert.equal(curl(vmUrl(80), { from: OTHER_SOURCE }).code, 28, "removed again: refused");
    assert.equal(curl(vmUrl(80)).status, 200);
  });

  await t.test("footprint after boot (the seed's 1 GB budget)", async () => {
    const f = await footprint(c.host!);
    const top = Object.entries(f.byUnit)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([u, mb]) => `${u} ${mb.toFixed(0)}`)
      .join(", ");
    t.diagnostic(
      `RSS: everything ${f.totalMb.toFixed(0)} MB = gateway ${f.gatewayMb.toFixed(0)} + agent ${f.agentMb.toFixed(0)} + the image's own ${f.imageMb.toFixed(0)} (${top}); disk ${f.diskMb} MB of which the bundle ${f.bundleMb} MB`,
    );
    assert.ok(f.gatewayMb > 0 && f.agentMb > 0 && f.imageMb > 0, JSON.stringify(f));
    assert.ok(f.imageMb < 200, `the image's own services stay small on a 1 GB box: ${f.imageMb.toFixed(0)} MB`);
  });
});
