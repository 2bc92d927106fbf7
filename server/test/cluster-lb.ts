// The shipped load-balancer site (deploy/control-plane/nginx-lb.conf) for tests and benchmarks of
// several control-plane nodes on loopback: only its upstream addresses and listen port are replaced.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./instances-harness.ts";

/** The shipped load-balancer site with these nodes' ports and this listen port. */
export function lbSite(nodePorts: number[], listenPort: number): string {
  const site = readFileSync(join(ROOT, "deploy", "control-plane", "nginx-lb.conf"), "utf8");
  const servers = site.match(/^\s*server 10\.0\.0\.\d+:8080[^\n]*\n/gm);
  assert.ok(servers?.length, "the shipped site lists its nodes as `server 10.0.0.x:8080 …;`");
  const options = servers[0]!.replace(/^\s*server \S+/, "").trimEnd();
  let out = site.replace(servers.join(""), nodePorts.map((p) => `    server 127.0.0.1:${p}${options}\n`).join(""));
  out = out.replace(/listen 80;/, `listen 127.0.0.1:${listenPort};`);
  assert.ok(out.includes(`listen 127.0.0.1:${listenPort};`));
  return out;
}
