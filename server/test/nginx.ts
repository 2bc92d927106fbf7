// A real nginx (Debian's) for tests and benchmarks: one master + one worker in a throwaway prefix,
// foreground, with the given `http {}` contents. Stopped (and the prefix removed) by stop().
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NGINX_BIN = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));

export interface Nginx {
  dir: string;
  errors(): string;
  stop(): Promise<void>;
}

/** Starts nginx with `http` as the body of its http block; resolves once `port` accepts connections. */
export async function startNginx(
  http: string,
  port: number,
  /** more connections than the default 4,096 (a benchmark's thousands of agents), each worker's open-file limit, more workers */
  o: { workerConnections?: number; nofile?: number; workers?: number } = {},
): Promise<Nginx> {
  if (!NGINX_BIN) throw new Error("nginx is not installed (apt-get install nginx)");
  const dir = mkdtempSync(join(tmpdir(), "tropic-nginx-"));
  const root = process.getuid?.() === 0 ? "user root;\n" : "";
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`).join("\n  ");
  writeFileSync(
    join(dir, "nginx.conf"),
    `${root}worker_processes ${o.workers ?? 1};\ndaemon off;\npid ${join(dir, "nginx.pid")};\nerror_log ${join(dir, "error.log")} warn;\n` +
      `${o.nofile ? `worker_rlimit_nofile ${o.nofile};\n` : ""}events { worker_connections ${o.workerConnections ?? 4096}; }\nhttp {\n  access_log off;\n  ${temp}\n${http}\n}\n`,
  );
  const check = spawnSync(NGINX_BIN, ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx rejected the config:\n${check.stderr}`);
  const proc: ChildProcess = spawn(NGINX_BIN, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  const errors = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (proc.exitCode !== null || i > 100) throw new Error(`nginx did not start:\n${errors()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    errors,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGQUIT");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
