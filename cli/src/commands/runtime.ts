import type { Command, Option } from "./index.ts";

const dir: Option = { type: "string", value: "DIR", help: "where it is installed (default $TROPIC_DATA_DIR/runtime, TROPIC_RUNTIME_DIR)" };

/** `tropic runtime install|status`: the OpenClaw runtime (Node 24 + openclaw) local instances use. */
export const runtimeCommands: Record<string, Command> = {
  runtime: {
    defaultVerb: "status",
    verbs: {
      status: {
        usage: "[--dir DIR]",
        summary: "whether the OpenClaw runtime local instances use is installed (the default)",
        options: { dir },
        async run(ctx) {
          const rt = await import("@tropic/runtime");
          const s = rt.runtimeStatus(ctx.flags.dir ? String(ctx.flags.dir) : rt.runtimeDir());
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
        },
      },
      install: {
        usage: "[--dir DIR] [--force]",
        summary: "install Node 24 + OpenClaw for local instances (about 840 MB)",
        options: { dir, force: { type: "boolean", help: "install again even if it is there" } },
        async run(ctx) {
          const rt = await import("@tropic/runtime");
          const r = await rt.installRuntime({
            dir: ctx.flags.dir ? String(ctx.flags.dir) : rt.runtimeDir(),
            force: ctx.flags.force === true,
            onProgress: ctx.json ? undefined : rt.progressPrinter(),
          });
          if (ctx.json) ctx.out(JSON.stringify(r, null, 2));
          else ctx.out(r.reused ? `Already installed in ${r.prefix}` : `Installed in ${r.prefix}`);
          return 0;
        },
      },
    },
  },
};
