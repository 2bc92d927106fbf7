// The agent bundle's entry: `<bundle> <instance dir>` is the instance agent (main.ts, root);
// `<bundle> --worker` is its file worker (worker.ts, the instance's agent user, in a sandbox).
// No top-level await: the same entry is bundled as ESM (the local provider's agent-<hash>.mjs) and as
// CommonJS (a host's lib/agent.cjs, server/src/hosts/bundle.ts: 4 MB less resident than the ESM one,
// whose `import … from "node:…"` facades load every lazy export of those modules, undici and http2 among them).
if (process.argv[2] === "--worker") {
  void import("./worker.ts").then(({ runWorker }) => runWorker());
} else {
  void import("./main.ts");
}
