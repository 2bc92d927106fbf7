// OpenClaw native plugin entry: the Tropic gate (the seed's "Sondera"). Loaded by the gateway
// (openclaw.plugin.json + package.json "openclaw.extensions"); all logic is in src/.
import { registerGate } from "./src/plugin.ts";

export default {
  id: "tropic-gate",
  name: "Tropic gate (Sondera)",
  description: "Policy decisions before every tool call, approvals, secret redaction and a JSON-lines audit log.",
  register(api: Parameters<typeof registerGate>[0]) {
    registerGate(api);
  },
};
