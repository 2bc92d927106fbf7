// The agent bundle's entry: `<bundle> <instance dir>` is the instance agent (main.ts, root);
// `<bundle> --worker` is its file worker (worker.ts, the instance's agent user, in a sandbox).
if (process.argv[2] === "--worker") {
  const { runWorker } = await import("./worker.ts");
  runWorker();
} else {
  await import("./main.ts");
}
