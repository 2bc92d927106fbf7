// The worker's child for the hardening engine (hardening.ts): `<node> <bundle> --audit`, one JSON
// request on stdin, one answer on stdout. The worker runs with a 16 MB heap (--max-old-space-size=16,
// providers/src/local.ts and host/src/main.ts); an audit needs more for ~30 ms, so it runs here, in the
// same sandbox as the same user, with a heap of its own, and the worker stays small.
import { spawn } from "node:child_process";
import type { HardeningRequest } from "./hardening.ts";

/** The child's heap: an audit of a large state directory peaks well below it (docs/hardening.md). */
export const HARDENING_HEAP_MB = 96;

/** How the worker starts the child: its own node and bundle, its flags but the heap's. */
export function hardeningArgv(): string[] {
  const flags = process.execArgv.filter((a) => !/^--max-(old|semi)-space-size/.test(a));
  return [process.execPath, ...flags, `--max-old-space-size=${HARDENING_HEAP_MB}`, process.argv[1]!, "--audit"];
}

export function spawnHardening(req: HardeningRequest, argv = hardeningArgv(), timeoutMs = 120_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // Not the worker's environment: no IPC channel (NODE_CHANNEL_FD), no gateway token (TROPIC_WORKER).
    const env: Record<string, string> = {};
    for (const k of ["PATH", "LANG", "HOME", "TMPDIR"]) if (process.env[k]) env[k] = process.env[k]!;
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.stdout.on("data", (d) => {
      out += d;
      if (out.length > 32 << 20) p.kill("SIGKILL");
    });
    p.stderr.on("data", (d) => {
      err = (err + d).slice(-2000);
    });
    p.stdin.on("error", () => {});
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`the hardening engine could not start: ${e.message}`));
    });
    p.on("close", (code, sig) => {
      clearTimeout(timer);
      let r: { ok?: boolean; result?: unknown; error?: string } | null = null;
      try {
        r = JSON.parse(out);
      } catch {}
      if (r?.ok === true) return resolve(r.result);
      if (r?.ok === false) return reject(new Error(r.error ?? "the hardening engine failed"));
      reject(new Error(`the hardening engine ended without an answer (${code ?? sig}): ${err.trim().split("\n").slice(-3).join(" ").slice(0, 500)}`));
    });
    p.stdin.end(JSON.stringify(req));
  });
}
