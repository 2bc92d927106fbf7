// WhatsApp on an instance card (docs/whatsapp.md): paired state and number (read from the instance's
// gateway), "Pair WhatsApp" (a dialog showing the pairing QR as it changes, from the API's event
// stream, then Paired, or Expired with Retry), and Unpair with a confirmation.
import { useCallback, useEffect, useRef, useState } from "react";
import { del, get, type Instance } from "../api.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { Dialog } from "./Dialog.tsx";
import "./whatsapp.css";

export interface WhatsAppState {
  paired: boolean;
  number: string | null;
  loaded: boolean;
  phoneRules: { enforcedByOpenClaw: boolean; allowFrom: string[]; notes: string[] };
}

type PairPhase =
  | { kind: "starting"; message: string }
  | { kind: "qr"; qrDataUrl: string; n: number }
  | { kind: "paired"; number: string | null }
  | { kind: "expired"; message: string }
  | { kind: "error"; message: string };

/** Reads the pairing stream (POST, text/event-stream) and calls `on` for each event until it ends or `signal` aborts. */
export async function readPairStream(instanceId: string, signal: AbortSignal, on: (e: Record<string, any>) => void): Promise<void> {
  const res = await fetch(`/api/v1/instances/${instanceId}/whatsapp/pair`, { method: "POST", credentials: "same-origin", signal });
  if (!res.ok || !res.body) {
    let message = `the server answered ${res.status}`;
    try {
      message = (await res.json()).error?.message ?? message;
    } catch {}
    on({ type: "error", message });
    return;
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i = buf.indexOf("\n\n");
    while (i >= 0) {
      const data = buf
        .slice(0, i)
        .split("\n")
        .find((l) => l.startsWith("data: "));
      buf = buf.slice(i + 2);
      if (data) on(JSON.parse(data.slice(6)));
      i = buf.indexOf("\n\n");
    }
  }
}

function PairDialog({ instance, onClose }: { instance: Instance; onClose: (paired: boolean) => void }) {
  const [phase, setPhase] = useState<PairPhase>({ kind: "starting", message: "Enabling WhatsApp on the instance…" });
  const [attempt, setAttempt] = useState(0);
  const paired = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new attempt (Retry) opens a new stream
  useEffect(() => {
    const ac = new AbortController();
    setPhase({ kind: "starting", message: "Enabling WhatsApp on the instance…" });
    readPairStream(instance.id, ac.signal, (e) => {
      if (e.type === "status")
        setPhase((p) => (p.kind === "starting" ? { kind: "starting", message: `${e.message[0].toUpperCase()}${e.message.slice(1)}…` } : p));
      else if (e.type === "qr") setPhase({ kind: "qr", qrDataUrl: e.qrDataUrl, n: e.n });
      else if (e.type === "paired") {
        paired.current = true;
        setPhase({ kind: "paired", number: e.number ?? null });
      } else if (e.type === "expired") setPhase({ kind: "expired", message: e.message });
      else if (e.type === "error") setPhase({ kind: "error", message: e.message });
    }).catch((err: Error) => {
      if (!ac.signal.aborted) setPhase({ kind: "error", message: err.message || "the connection to Tropic dropped" });
    });
    // Closing the dialog closes the stream: the control plane stops asking the instance.
    return () => ac.abort();
  }, [instance.id, attempt]);
  const close = () => onClose(paired.current);
  return (
    <Dialog
      title={`Pair WhatsApp with ${instance.name}`}
      onClose={close}
      footer={
        <div className="row end">
          {phase.kind === "expired" || phase.kind === "error" ? (
            <button type="button" className="primary" onClick={() => setAttempt((n) => n + 1)}>
              Retry
            </button>
          ) : null}
          <button type="button" className={phase.kind === "paired" ? "primary" : ""} onClick={close}>
            {phase.kind === "paired" ? "Done" : "Cancel"}
          </button>
        </div>
      }
    >
      <div className="wa-pair" data-testid="wa-pair" data-phase={phase.kind}>
        {phase.kind === "starting" ? <p role="status">{phase.message}</p> : null}
        {phase.kind === "qr" ? (
          <>
            <p>On your phone: WhatsApp → Settings → Linked devices → Link a device, then scan this code. It changes every few seconds.</p>
            <img className="wa-qr" src={phase.qrDataUrl} alt="WhatsApp pairing QR code" data-qr-n={phase.n} width={264} height={264} />
          </>
        ) : null}
        {phase.kind === "paired" ? (
          <p role="status" className="banner success">
            Paired{phase.number ? ` with ${phase.number}` : ""}.
          </p>
        ) : null}
        {phase.kind === "expired" ? (
          <p role="status" className="banner warn">
            Expired: {phase.message}
          </p>
        ) : null}
        {phase.kind === "error" ? (
          <p role="alert" className="banner error">
            {phase.message}
          </p>
        ) : null}
      </div>
    </Dialog>
  );
}

/** The WhatsApp line of a running instance's card. */
export function WhatsAppPanel({ instance }: { instance: Instance }) {
  const [state, setState] = useState<WhatsAppState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pairing, setPairing] = useState(false);
  const [unpairing, setUnpairing] = useState(false);
  const load = useCallback(() => {
    get<WhatsAppState>(`/api/v1/instances/${instance.id}/whatsapp`).then(
      (s) => {
        setState(s);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, [instance.id]);
  // asked when the instance runs, and again each time it runs after a reload (the line stays while the
  // gateway restarts, so an open pairing dialog survives; a gateway restarting cannot answer yet)
  useEffect(() => {
    if (instance.state === "running") load();
  }, [load, instance.state]);
  return (
    <div className="wa-line" data-testid="wa-line">
      <span className="label-like">WhatsApp</span>{" "}
      <span data-testid="wa-state">
        {state ? (state.paired ? `Paired${state.number ? `: ${state.number}` : ""}` : "Not paired") : error ? "unknown" : "…"}
      </span>{" "}
      {state?.paired ? (
        <button type="button" className="small" onClick={() => setUnpairing(true)} aria-label={`Unpair WhatsApp on ${instance.name}`}>
          Unpair
        </button>
      ) : (
        <button type="button" className="small" onClick={() => setPairing(true)} disabled={!state && !error}>
          Pair WhatsApp
        </button>
      )}
      {state?.paired && !state.phoneRules.enforcedByOpenClaw ? (
        <span className="hint-line">Phone rules: enforced by the gate (OpenClaw's channel config cannot express them).</span>
      ) : null}
      {pairing ? (
        <PairDialog
          instance={instance}
          onClose={() => {
            setPairing(false);
            load();
          }}
        />
      ) : null}
      {unpairing ? (
        <ConfirmDialog
          title={`Unpair WhatsApp on ${instance.name}?`}
          confirmLabel="Unpair"
          danger
          onConfirm={async () => {
            await del(`/api/v1/instances/${instance.id}/whatsapp`);
            setUnpairing(false);
            load();
          }}
          onCancel={() => setUnpairing(false)}
        >
          <p>The instance's WhatsApp session is logged out: its agents stop receiving and sending WhatsApp messages until you pair again.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
