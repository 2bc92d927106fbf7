// The agent bundle's entry: `<bundle> <instance dir>` is the instance agent (main.ts, root);
// `<bundle> --worker` is its file worker (worker.ts, the instance's agent user, in a sandbox);
// `<bundle> --audit` is the worker's child for the hardening engine (hardening.ts, same user and sandbox);
// `<bundle> --hardening-cli ARGS` is the offline hardening CLI (hardening/src/cli.ts: the seed's scripts).
// No top-level await: the same entry is bundled as ESM (the local provider's agent-<hash>.mjs) and as
// CommonJS (a host's lib/agent.cjs, server/src/hosts/bundle.ts: 4 MB less resident than the ESM one,
// whose `import … from "node:…"` facades load every lazy export of those modules, undici and http2 among them).
if (process.argv[2] === "--worker") {
  void import("./worker.ts").then(({ runWorker }) => runWorker());
} else if (process.argv[2] === "--audit") {
  void import("./hardening.ts").then(({ runHardeningChild }) => runHardeningChild());
} else if (process.argv[2] === "--hardening-cli") {
  void import("@tropic/hardening/cli.ts").then(async ({ main }) => {
    process.exitCode = await main(process.argv.slice(3));
  });
} else {
  void import("./main.ts");
}
