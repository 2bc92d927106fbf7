// The byo provider's way to a host (providers/src/byo.ts): the agent hub's connections and the
// instance command queue, like every other instance's agent.
import { eq } from "drizzle-orm";
import type { HostChannel } from "@tropic/providers";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { enqueueCommand, supersedePending } from "../instances/commands.ts";
import type { AgentHub } from "../instances/hub.ts";

export function hostChannel(db: Db, hub: AgentHub): HostChannel {
  return {
    async status(instanceId) {
      const [row] = await db
        .select({ host: instances.host, metrics: instances.metrics })
        .from(instances)
        .where(eq(instances.id, instanceId))
        .limit(1);
      // here or on another control-plane node (cluster/): a reconcile may run on any node
      const connected = await hub.reachable(instanceId);
      return { enrolled: !!row?.host, connected, gatewayStopped: connected && row?.metrics?.gatewayPhase === "stopped" };
    },
    async enqueue(instanceId, kind, payload) {
      const [row] = await db.select({ ownerId: instances.ownerId }).from(instances).where(eq(instances.id, instanceId)).limit(1);
      if (!row) return;
      // A start supersedes a stop not yet sent, and the other way round (each sets a state: the last one counts).
      for (const k of ["start_gateway", "stop_gateway"] as const) await supersedePending(db, instanceId, k);
      await enqueueCommand(db, { ownerId: row.ownerId, instanceId, kind, payload });
      await hub.pump(instanceId);
    },
    async request(instanceId, kind, payload, timeoutMs) {
      try {
        return (await hub.request(instanceId, kind, payload, timeoutMs)).ok;
      } catch {
        return false;
      }
    },
  };
}
