import type { Command } from "./index.ts";
import { CliError } from "../client.ts";

/** Commands that run on this machine without a server. */
export const localCommands: Record<string, Command> = {
  serve: {
    options: { port: { type: "string" }, host: { type: "string" }, "data-dir": { type: "string" } },
    async run(ctx) {
      const started = Date.now(); // before loading the server: the user waits for that too
      const { startServer } = await import("@tropic/server");
      const port = ctx.flags.port !== undefined ? Number(ctx.flags.port) : undefined;
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
        throw new CliError("--port must be a number from 0 to 65535", 2);
      const server = await startServer({
        ...(port !== undefined ? { port } : {}),
        ...(ctx.flags.host ? { host: String(ctx.flags.host) } : {}),
        ...(ctx.flags["data-dir"] ? { dataDir: String(ctx.flags["data-dir"]) } : {}),
      });
      const db = server.database.kind === "pglite" ? "embedded database" : "PostgreSQL";
      process.stderr.write(`Tropic is running at ${server.url} (${db}, ready in ${Date.now() - started} ms). Press Ctrl+C to stop.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
      return 0;
    },
  },
  keys: {
    options: { "data-dir": { type: "string" } },
    async run(ctx) {
      if (ctx.args[0] !== "rewrap") throw new CliError("usage: tropic keys rewrap [--data-dir DIR]", 2);
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
    },
  },
  gate: {
    raw: true,
    async run() {
      const { gateCommand } = await import("@tropic/gate/cli.ts");
      return gateCommand(process.argv.slice(3), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    },
  },
};
