import { CliError } from "../client.ts";
import type { Command, Context } from "./index.ts";

/** Commands that run on this machine without a server. */
export const localCommands: Record<string, Command> = {
  serve: {
    usage: "[--port 8080] [--host 127.0.0.1] [--data-dir DIR]",
    summary: "run the control plane (embedded database by default)",
    options: {
      port: { type: "string", value: "PORT", help: "where to listen (default 8080, TROPIC_PORT)" },
      host: { type: "string", value: "HOST", help: "the address to listen on (default 127.0.0.1, TROPIC_HOST)" },
      "data-dir": { type: "string", value: "DIR", help: "the embedded database and master key (default ./.tropic, TROPIC_DATA_DIR)" },
      "stop-instances": {
        type: "boolean",
        help: "when this server stops, stop the local instances' gateways too (they start again with the next `tropic serve`)",
      },
    },
    async run(ctx) {
      const started = Date.now(); // before loading the server: the user waits for that too
      const port = ctx.flags.port !== undefined ? Number(ctx.flags.port) : undefined;
      if (port !== undefined && (!/^\d+$/.test(String(ctx.flags.port)) || port < 0 || port > 65535))
        throw new CliError(`--port ${ctx.flags.port}: must be a number from 0 to 65535`, 2);
      const { startServer, warmHostBundlesEnv } = await import("@tropic/server");
      const server = await startServer(
        {
          ...(port !== undefined ? { port } : {}),
          ...(ctx.flags.host ? { host: String(ctx.flags.host) } : {}),
          ...(ctx.flags["data-dir"] ? { dataDir: String(ctx.flags["data-dir"]) } : {}),
        },
        // the host bundles are built in the background at start (TROPIC_HOST_BUNDLES=lazy: on first request)
        { warmHostBundles: warmHostBundlesEnv(process.env) },
      );
      const db = server.database.kind === "pglite" ? "embedded database" : "PostgreSQL";
      for (const n of server.notices) process.stderr.write(`${n}\n`);
      const stopInstances = ctx.flags["stop-instances"] === true;
      process.stderr.write(
        `Tropic is running at ${server.url} (${db}, ready in ${Date.now() - started} ms). Press Ctrl+C to stop${stopInstances ? " it and its local instances" : ""}.\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      const local = server.app.instances?.o.providers.local as
        | { list(): string[]; agentPid(ref: string): number; stop(ref: string): Promise<void> }
        | undefined;
      await server.close();
      // Local gateways outlive the control plane on purpose (their agents reconnect to the next one).
      const running = local ? local.list().filter((ref) => local.agentPid(ref)) : [];
      if (running.length && stopInstances) {
        process.stderr.write(`Stopping ${running.length} local instance${running.length === 1 ? "" : "s"}…\n`);
        for (const ref of running) await local!.stop(ref);
      } else if (running.length)
        process.stderr.write(
          `${running.length} local instance${running.length === 1 ? " keeps" : "s keep"} running (about 0.9 GB each) and reconnect${running.length === 1 ? "s" : ""} when Tropic starts again. ` +
            "To stop them: `tropic instances stop --all` (per account) while the server runs, or start it with `tropic serve --stop-instances`.\n",
        );
      return 0;
    },
  },
  keys: {
    verbs: {
      rewrap: {
        usage: "[--data-dir DIR]",
        summary: "move every secret to the current key-encryption key",
        options: { "data-dir": { type: "string", value: "DIR", help: "the embedded database's directory (default ./.tropic)" } },
        run: rewrap,
      },
    },
  },
  gate: {
    raw: true,
    usage: "eval|redact …",
    summary: "run the tool-call gate locally (see docs/gate.md)",
    async run() {
      const { gateCommand } = await import("@tropic/gate/cli.ts");
      return gateCommand(process.argv.slice(3), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    },
  },
};

async function rewrap(ctx: Context): Promise<number> {
  // Uses the server's configuration (DATABASE_URL, TROPIC_MASTER_KEY[_PREVIOUS], TROPIC_KMS_KEY_ID).
  // On PostgreSQL it runs beside live servers; the embedded database must not be in use (a running
  // `tropic serve` re-wraps by itself at start).
  const { loadConfig, openDatabase, migrate, loadKeyring, rewrapAll } = await import("@tropic/server");
  const config = loadConfig(process.env, ctx.flags["data-dir"] ? { dataDir: String(ctx.flags["data-dir"]) } : {});
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(database.pool);
    const kek = await loadKeyring(config, database.db);
    const report = await rewrapAll(database.db, kek, (n) => {
      if (!ctx.json && n % 100 === 0) process.stderr.write(`\rre-wrapped ${n} secrets…`);
    });
    if (ctx.json) ctx.out(JSON.stringify(report));
    else {
      const total = Object.values(report.rewrapped).reduce((a, b) => a + b, 0);
      ctx.out(
        `re-wrapped ${total} secret(s) under ${report.current}${report.remaining ? `; ${report.remaining} remain under keys that are not configured` : "; the previous keys can be removed"}`,
      );
    }
    return report.remaining ? 1 : 0;
  } finally {
    await database.close();
  }
}
