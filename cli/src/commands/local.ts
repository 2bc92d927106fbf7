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
  gate: {
    raw: true,
    async run() {
      const { gateCommand } = await import("@tropic/gate/cli.ts");
      return gateCommand(process.argv.slice(3), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    },
  },
};
