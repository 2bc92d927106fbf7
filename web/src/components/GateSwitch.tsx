// The gate's switch (issue 19): Sondera, the tool-call gate, as the first entry of the Skills drawer
// ("Enable or disable via the Skills Marketplace drawer on your machine card. Sondera is
// instance-wide."), with its rule packs beside it; and the card's badge while an instance runs
// without its gate. The state shown is what the instance's agent read from the running gateway
// (`gate.observed`); `pending` while it has not reported what was asked yet.
import { useState } from "react";
import { get, type Instance, type InstanceGate, put } from "../api.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { Icon } from "./icons.tsx";
import { ErrorBanner, useAction, useLoad } from "./ui.tsx";
import "./gate-switch.css";

const PACKS: { key: "base" | "system" | "owasp"; label: string; hint: string }[] = [
  { key: "base", label: "Base", hint: "destructive commands, secrets, Tropic's own defences; on while the gate is on" },
  { key: "system", label: "System", hint: "system administration: packages, services, users, firewall" },
  { key: "owasp", label: "OWASP", hint: "the OWASP agentic top 10: injection, exfiltration, excessive agency" },
];

/** The card's line: "Gate off" (danger) while the instance runs without its gate, "applying" while it converges. */
export function GateBadge({ instance }: { instance: Instance }) {
  const g = instance.gate;
  if (!g || instance.state !== "running") return null;
  if (g.off)
    return (
      <p className="gate-line" data-testid="gate-off">
        <span className="badge gate-off">
          <span className="dot" aria-hidden="true" />
          Gate off
        </span>
        <span>{g.pending ? "Turning the gate on…" : "Tool calls on this instance are not checked. Turn it on in Skills."}</span>
      </p>
    );
  if (g.pending)
    return (
      <p className="gate-line" data-testid="gate-pending">
        <span className="badge state-pending">
          <span className="dot" aria-hidden="true" />
          Gate
        </span>
        <span>{g.enabled ? "Applying the gate's new settings…" : "Turning the gate off…"}</span>
      </p>
    );
  return null;
}

/** Sondera in the Skills drawer: the switch, its packs, and what the instance says now. */
export function GateEntry({ instance, onChanged }: { instance: Instance; onChanged?: () => void }) {
  const [fast, setFast] = useState(false);
  const current = useLoad(
    async () => {
      const i = await get<Instance>(`/api/v1/instances/${instance.id}`);
      setFast(!!i.gate?.pending);
      return i;
    },
    [instance.id, fast],
    fast ? 2000 : 15000,
  );
  const [confirmOff, setConfirmOff] = useState(false);
  const { pending: busy, error, run } = useAction();
  const inst = current.data ?? instance;
  const g: InstanceGate = inst.gate ?? {
    enabled: true,
    packs: { base: true, system: false, owasp: false },
    observed: null,
    pending: false,
    off: false,
  };
  const save = (key: string, body: { enabled: boolean; packs?: Partial<InstanceGate["packs"]> }) =>
    run(key, async () => {
      const i = await put<Instance>(`/api/v1/instances/${instance.id}/gate`, body);
      current.setData(i);
      setFast(!!i.gate?.pending);
      onChanged?.();
    });
  const running = inst.state === "running";
  const status = !running
    ? g.enabled
      ? "On when the instance runs"
      : "Off when the instance runs"
    : g.pending
      ? g.enabled
        ? "Turning on…"
        : "Turning off…"
      : g.off
        ? "Off: tool calls are not checked"
        : "On: every tool call is checked";

  return (
    <section className="skill gate-entry" data-skill="sondera" aria-labelledby={`gate-${instance.id}`}>
      <div className="spread">
        <h3 className="skill-name" id={`gate-${instance.id}`}>
          <span className="skill-icon">
            <Icon name="check-square" size={18} />
          </span>
          Sondera tool-call gate
        </h3>
        <button
          type="button"
          role="switch"
          aria-checked={g.enabled}
          aria-label="Sondera gate"
          className={`gate-switch${g.enabled ? " on" : ""}`}
          disabled={!!busy}
          onClick={() => (g.enabled ? setConfirmOff(true) : void save("on", { enabled: true }))}
        >
          <span className="knob" aria-hidden="true" />
        </button>
      </div>
      <p className={`gate-status${g.off && running ? " bad" : ""}`} role="status" data-testid="gate-status">
        {status}
      </p>
      <p className="muted skill-desc">
        Checks every tool call of every agent on this instance against your policies, your Settings and the rule packs below. Instance-wide.
      </p>
      <fieldset className="gate-packs" disabled={!g.enabled || !!busy}>
        <legend className="hint-line">Rule packs</legend>
        {PACKS.map((p) => (
          <label key={p.key} className="gate-pack">
            <input
              type="checkbox"
              checked={g.packs[p.key]}
              disabled={p.key === "base"}
              onChange={(e) => void save(p.key, { enabled: true, packs: { [p.key]: e.target.checked } })}
            />
            <span>
              <strong>{p.label}</strong> <span className="muted">{p.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <ErrorBanner error={error ?? current.error} />
      {confirmOff ? (
        <ConfirmDialog
          title={`Turn the gate off on ${inst.name}?`}
          confirmLabel="Turn the gate off"
          danger
          onConfirm={async () => {
            const i = await put<Instance>(`/api/v1/instances/${instance.id}/gate`, { enabled: false });
            current.setData(i);
            setFast(!!i.gate?.pending);
            setConfirmOff(false);
            onChanged?.();
          }}
          onCancel={() => setConfirmOff(false)}
        >
          <p>
            Every agent on this instance will run its tool calls unchecked by the gate: no policy, no rule pack and none of the gate's checks of your
            Settings (browser, code, OS commands, phone numbers) apply until you turn it on again. This is recorded in your audit log.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
