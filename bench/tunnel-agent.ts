// The stand-in instance agent of `bench/proxy.bench.ts`, in its own process so that its CPU is
// measured apart from the load generator's: it dials the control plane's agent endpoint with the
// instance's agent token, says hello, and joins every tunnel stream the control plane opens to the
// echo backend on 127.0.0.1:<echoPort> (server/test/stand-in-agent.ts).
//   node --import tsx bench/tunnel-agent.ts <baseUrl> <agentToken> <instanceId> <echoPort>
// Prints "ready" once the control plane has answered its hello ("synced"); exits on SIGTERM, and
// with code 1 (reason on stderr) when the connection closes by itself.
import { connectStandInAgent } from "../server/test/stand-in-agent.ts";

const [base, token, instanceId, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!base || !token || !instanceId || !Number.isInteger(port) || port <= 0) {
  process.stderr.write("usage: node --import tsx bench/tunnel-agent.ts <baseUrl> <agentToken> <instanceId> <echoPort>\n");
  process.exit(2);
}

let stopping = false;
try {
  const agent = await connectStandInAgent({ base, token, instanceId, port });
  agent.ws.on("close", (code, reason) => {
    if (stopping) return process.exit(0);
    process.stderr.write(`the control plane closed the agent connection: ${code} ${String(reason)}\n`);
    process.exit(1);
  });
  agent.ws.on("error", (err) => process.stderr.write(`agent connection error: ${err.message}\n`));
  process.once("SIGTERM", () => {
    stopping = true;
    agent.close();
    setTimeout(() => process.exit(0), 2000).unref();
  });
  // The hello is answered with "synced" once the control plane has processed it.
  const synced = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    agent.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      try {
        if ((JSON.parse(String(data)) as { type?: string }).type === "synced") {
          clearTimeout(timer);
          resolve(true);
        }
      } catch {
        // not a management frame this script reads
      }
    });
  });
  if (!synced) process.stderr.write("no synced frame within 10 s of the hello (connected all the same)\n");
  process.stdout.write(`ready ${process.pid}\n`);
} catch (err) {
  process.stderr.write(`the stand-in agent could not connect: ${(err as Error).message}\n`);
  process.exit(1);
}
