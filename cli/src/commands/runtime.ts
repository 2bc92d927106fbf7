import type { Command } from "./index.ts";

/** `tropic runtime install|status`: the OpenClaw runtime (Node 24 + openclaw) local instances use. */
export const runtimeCommands: Record<string, Command> = {
  runtime: {
    options: { dir: { type: "string" }, force: { type: "boolean" } },
    async run(ctx) {
      const rt = await import("@tropic/runtime");
      const dir = ctx.flags.dir ? String(ctx.flags.dir) : rt.runtimeDir();
      const sub = ctx.args[0] ?? "status";
      if (sub === "status") {
        const s = rt.runtimeStatus(dir);
        if (ctx.json) ctx.out(JSON.stringify(s, null, 2));
        else if (s.installed)
          ctx.out(
            `OpenClaw ${s.openclawVersion} on Node ${s.nodeVersion} (${s.nodePackage})\n  directory  ${s.prefix}\n  node       ${s.node}\n  openclaw   ${s.openclaw}\n  installed  ${s.installedAt} (${(s.bytes / 1e6).toFixed(0)} MB)`,
          );
        else
          ctx.out(
            `Not installed: ${s.reason}\nRun \`tropic runtime install\` (OpenClaw ${rt.OPENCLAW_VERSION}, Node ${rt.NODE_MAJOR}; about 840 MB).`,
          );
        return s.installed ? 0 : 1;
      }
      if (sub === "install") {
        const r = await rt.installRuntime({ dir, force: ctx.flags.force === true, onProgress: ctx.json ? undefined : rt.progressPrinter() });
        if (ctx.json) ctx.out(JSON.stringify(r, null, 2));
        else ctx.out(r.reused ? `Already installed in ${r.prefix}` : `Installed in ${r.prefix}`);
        return 0;
      }
      process.stderr.write(`unknown subcommand "runtime ${sub}": use \`tropic runtime install\` or \`tropic runtime status\`\n`);
      return 2;
    },
  },
};
