// Asking the gateway itself (its WebSocket RPC), not our own files, what it has loaded: which config
// revision it applied (`config.get`: `configRevisionHash` vs `appliedConfigHash`, `valid`, `issues`)
// and which agents it runs (`agents.list`). One short connection per question, as OpenClaw's own
// backend clients do: a `connect` request with the gateway token, then the calls, then close.
import { gateLoadedIn } from "./gate-watch.ts";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";

export interface GatewayAddress {
  /** ws://127.0.0.1:<port> */
  url: string;
  token: string;
}

type Res = { type: "res"; id: string; ok: boolean; payload?: any; error?: { message?: string; code?: string } };

/** Runs `calls` over one authenticated connection; rejects when the gateway is not there or refuses. */
export async function withGateway<T>(
  gw: GatewayAddress,
  calls: (call: (method: string, params?: unknown) => Promise<any>) => Promise<T>,
  timeoutMs = 15_000,
  /** the operator scopes asked for (web.login.* and channels.logout need operator.admin) */
  scopes: string[] = ["operator.read"],
): Promise<T> {
  const ws = new WebSocket(gw.url, { handshakeTimeout: timeoutMs, maxPayload: 16 * 1024 * 1024 });
  const pending = new Map<string, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let closedWith: Error | null = null;
  const fail = (e: Error) => {
    closedWith ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  ws.on("message", (data) => {
    let f: Res;
    try {
      f = JSON.parse(String(data));
    } catch {
      return;
    }
    if (f.type !== "res") return;
    const p = pending.get(f.id);
    if (!p) return;
    // an "accepted" acknowledgement is followed by the final answer
    if (f.ok && f.payload && typeof f.payload === "object" && f.payload.status === "accepted") return;
    pending.delete(f.id);
    if (f.ok) p.resolve(f.payload);
    else p.reject(new Error(f.error?.message ?? f.error?.code ?? "the gateway refused the request"));
  });
  ws.on("close", () => fail(new Error("the gateway closed the connection")));
  ws.on("error", (e) => fail(e));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("close", () => reject(closedWith ?? new Error("the gateway closed the connection")));
  });
  const call = (method: string, params: unknown = {}) =>
    new Promise<any>((resolve, reject) => {
      if (closedWith) return reject(closedWith);
      const id = randomUUID();
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the gateway did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      ws.send(JSON.stringify({ type: "req", id, method, params }));
    });
  try {
    // Startup sidecars may still be loading for a moment after /readyz: that answer is retried.
    for (let attempt = 0; ; attempt++) {
      try {
        await call("connect", {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: "gateway-client", version: "tropic-agent", platform: process.platform, mode: "backend" },
          role: "operator",
          scopes,
          auth: { token: gw.token },
        });
        break;
      } catch (e) {
        if (attempt < 10 && /UNAVAILABLE|startup/i.test((e as Error).message)) await new Promise((r) => setTimeout(r, 500));
        else throw e;
      }
    }
    return await calls(call);
  } finally {
    ws.terminate();
  }
}

export interface GatewayConfigState {
  /** the file on disk is valid for this OpenClaw */
  valid: boolean;
  /** the gateway runs the revision that is on disk */
  applied: boolean;
  /** OpenClaw's own words for what is wrong, `path: message` each */
  issues: string[];
}

export async function configState(gw: GatewayAddress): Promise<GatewayConfigState> {
  return withGateway(gw, async (call) => configStateOf(await call("config.get")));
}

export function configStateOf(r: any): GatewayConfigState {
  const issues = Array.isArray(r?.issues) ? r.issues.map((i: any) => `${i?.path ?? ""}: ${i?.message ?? ""}`.replace(/^: /, "")) : [];
  const valid = r?.valid !== false;
  const applied = valid && typeof r?.configRevisionHash === "string" && r.configRevisionHash === r?.appliedConfigHash;
  return { valid, applied, issues };
}

/** The ids of the agents the gateway runs, the state of its config and its gate's switch, from one connection. */
export async function loadedState(gw: GatewayAddress): Promise<{ agents: string[]; config: GatewayConfigState; gate: GateSwitch | null }> {
  return withGateway(gw, async (call) => {
    const got = await call("config.get");
    const config = configStateOf(got);
    const list = await call("agents.list");
    const agents = (Array.isArray(list?.agents) ? list.agents : []).filter((a: any) => a?.kind !== "system").map((a: any) => String(a.id));
    return { agents, config, gate: config.applied ? gateSwitchOf(got?.config) : null };
  });
}

/** The gate's switch and packs (plugin/src/config.ts defaults: on, base only). */
export interface GateSwitch {
  enabled: boolean;
  packs: { base: boolean; system: boolean; owasp: boolean };
}

/**
 * The gate's switch in a config the gateway runs (`config.get` answers the file's revision, and
 * `applied` says the gateway runs it): off when the plugin's entry or its config says so, or it is denied.
 */
export function gateSwitchOf(cfg: any): GateSwitch | null {
  if (!cfg || typeof cfg !== "object") return null;
  const e = cfg.plugins?.entries?.["tropic-gate"];
  const p = e?.config?.packs ?? {};
  const denied = Array.isArray(cfg.plugins?.deny) && cfg.plugins.deny.includes("tropic-gate");
  return {
    enabled: !!e && e.enabled !== false && e.config?.enabled !== false && !denied,
    packs: { base: p.base !== false, system: p.system === true, owasp: p.owasp === true },
  };
}

/**
 * After a config write: waits until the gateway has applied the revision on disk (`applied`), or says
 * it is invalid (its issues), or `timeoutMs` passes (a restart the change needed may be under way).
 */
export async function waitApplied(gw: GatewayAddress, timeoutMs: number): Promise<GatewayConfigState & { answered: boolean }> {
  const t0 = Date.now();
  let last: GatewayConfigState | null = null;
  while (Date.now() - t0 < timeoutMs) {
    try {
      last = await configState(gw);
      if (last.applied || !last.valid) return { ...last, answered: true };
    } catch {
      // not listening (restarting): ask again
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { ...(last ?? { valid: true, applied: false, issues: [] }), answered: last !== null };
}

/** Whether the gateway says the gate is active in its runtime (`plugins.list`); null when it could not be asked. */
export async function gateLoaded(gw: GatewayAddress): Promise<boolean | null> {
  try {
    return gateLoadedIn(await withGateway(gw, (call) => call("plugins.list")));
  } catch {
    return null;
  }
}
