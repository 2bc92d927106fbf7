/**
 * A user's own machine (`byo`, docs/hosts.md): Tropic provisions nothing. The machine enrols with the
 * one-liner's token; from then on its instance agent dials the control plane like every other, and
 * everything this provider does travels as commands through that channel (queued while the machine is
 * offline). Whether it runs is read from the agent (connected, its gateway's phase) and the gateway's
 * own /readyz through the agent's tunnel, never inferred.
 */
import type { InstanceProvider, InstanceSpec, NetworkRules, ObservedInstance } from "./provider.ts";

/** The commands a host's agent gets for what this provider does (agent/src/protocol.ts COMMAND_KINDS). */
export const HOST_COMMANDS = { start: "start_gateway", stop: "stop_gateway", uninstall: "uninstall" } as const;
export type HostCommand = (typeof HOST_COMMANDS)[keyof typeof HOST_COMMANDS];

/** What the control plane tells this provider about a host (server/src/hosts/channel.ts). */
export interface HostChannel {
  status(instanceId: string): Promise<{ enrolled: boolean; connected: boolean; gatewayStopped: boolean }>;
  /** Queues a command for the host's agent (delivered now when it is connected, else when it is back). */
  enqueue(instanceId: string, kind: HostCommand, payload: Record<string, unknown>): Promise<void>;
  /** Asks the connected agent now; false when it is not connected or does not answer in time. */
  request(instanceId: string, kind: HostCommand, payload: Record<string, unknown>, timeoutMs: number): Promise<boolean>;
}

export const BYO_WAITING = "waiting for your machine: run the one-liner (tropic instances connect, or Add Instance → Connect local machine)";
export const BYO_OFFLINE = "Your machine is offline: its commands wait until it is back.";

const PREFIX = "byo-";

export class ByoProvider implements InstanceProvider {
  readonly id = "byo" as const;
  private channel: HostChannel | null = null;

  /** reconnectGraceMs: how long a delete waits for an enrolled machine that is offline (default 60 s) */
  constructor(private readonly o: { reconnectGraceMs?: number } = {}) {}

  /** The control plane's side (its agent hub and command queue), given once it exists. */
  attach(channel: HostChannel) {
    this.channel = channel;
  }

  reference(spec: Pick<InstanceSpec, "instanceId">): string {
    return `${PREFIX}${spec.instanceId}`;
  }

  private instanceOf(providerRef: string): string {
    return providerRef.startsWith(PREFIX) ? providerRef.slice(PREFIX.length) : providerRef;
  }

  /** Nothing to create: the instance waits for its machine (the tokens reach it at enrolment). */
  async create(spec: InstanceSpec): Promise<ObservedInstance> {
    return this.describe(this.reference(spec));
  }

  async start(providerRef: string): Promise<void> {
    await this.channel?.enqueue(this.instanceOf(providerRef), HOST_COMMANDS.start, {});
  }

  async stop(providerRef: string): Promise<void> {
    await this.channel?.enqueue(this.instanceOf(providerRef), HOST_COMMANDS.stop, {});
  }

  /**
   * Asks the host to uninstall itself (services, users, files). A machine that enrolled but is not
   * connected right now may be on its way back (a reboot, a network blip): it gets a short while to
   * reconnect and take its uninstall before the instance, and with it its token, is gone. A host
   * offline for longer cannot be reached: its token stops working, and `tropic-host uninstall` on the
   * machine removes what is left. A second call is a no-op.
   */
  async destroy(providerRef: string): Promise<void> {
    const id = this.instanceOf(providerRef);
    const until = Date.now() + (this.o.reconnectGraceMs ?? 60_000);
    for (;;) {
      const s = await this.channel?.status(id);
      if (!s?.enrolled) return;
      if (s.connected && (await this.channel!.request(id, HOST_COMMANDS.uninstall, {}, 15_000))) return;
      if (Date.now() >= until) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async describe(providerRef: string): Promise<ObservedInstance> {
    const s = await this.channel?.status(this.instanceOf(providerRef));
    // No healthUrl: the gateway's /readyz is asked through the agent's tunnel (it binds loopback on the host).
    if (!s?.connected) return { providerRef, state: "provisioning", addresses: {}, detail: s?.enrolled ? BYO_OFFLINE : BYO_WAITING };
    return { providerRef, state: s.gatewayStopped ? "stopped" : "running", addresses: {} };
  }

  /** The user's SSH key reaches the host through its agent (set_authorized_keys), not from here. */
  async pushSshKeys(_providerRef: string, _publicKeys: string[]): Promise<void> {}

  /** No inbound port to open or close: the host's agent dials out. */
  async applyNetworkRules(_providerRef: string, _rules: NetworkRules): Promise<void> {}
}
