// Settings → Connections → Google: connect (OAuth at Google, back to /settings?google=…#connections),
// the connected state read from the control plane, Disconnect. No token is ever shown or held here.
import { useState } from "react";
import { del, get, post } from "../api.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { ErrorBanner, Loading, timeAgo, useLoad } from "./ui.tsx";

export interface GoogleConnection {
  configured: boolean;
  connected: boolean;
  scope: string | null;
  connectedAt: string | null;
}

/** What Google's redirect back says (?google=…), in plain words. */
const OUTCOME: Record<string, { ok: boolean; text: string }> = {
  connected: { ok: true, text: "Google is connected. The Google Sheets skill can now read and write your spreadsheets." },
  denied: { ok: false, text: "Google access was not granted, so nothing was connected." },
  bad_state: { ok: false, text: "That Google sign-in expired or was started elsewhere. Connect again from here." },
  exchange_failed: { ok: false, text: "Google refused the sign-in. Try connecting again." },
  no_refresh_token: {
    ok: false,
    text: "Google gave no lasting access. Remove Tropic in your Google account's third-party access, then connect again.",
  },
  scope_missing: { ok: false, text: "Access to Google Sheets was not allowed. Connect again and allow it." },
  not_configured: { ok: false, text: "This Tropic has no Google client configured; ask its operator." },
};

export function useGoogleConnection() {
  return useLoad(() => get<GoogleConnection>("/api/v1/connections/google"));
}

/** Sends the browser to Google's consent page (the control plane made the URL, with its state and PKCE challenge). */
export async function connectGoogle() {
  const { url } = await post<{ url: string }>("/api/v1/connections/google/start");
  window.location.assign(url);
}

export function GoogleConnectionCard() {
  const conn = useGoogleConnection();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const outcome = new URLSearchParams(window.location.search).get("google");
  const said = outcome ? OUTCOME[outcome] : undefined;
  const c = conn.data;

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      await connectGoogle();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  // (an error stays in the dialog, which shows it)
  const disconnect = async () => {
    await del("/api/v1/connections/google");
    setConfirming(false);
    await conn.reload();
  };

  return (
    <div className="connection" data-testid="google-connection">
      <h3>Google</h3>
      {said ? (
        <div className={`banner ${said.ok ? "ok" : "error"}`} role="status">
          {said.text}
        </div>
      ) : null}
      <ErrorBanner error={conn.error ?? (error as Error | null)} onRetry={conn.error ? conn.reload : undefined} />
      {!c && conn.loading ? <Loading what="your Google connection" /> : null}
      {c && !c.configured ? <p className="muted">This Tropic does not offer a Google connection (no Google client is configured).</p> : null}
      {c?.configured && c.connected ? (
        <>
          <p data-testid="google-status">
            Connected{c.connectedAt ? ` ${timeAgo(c.connectedAt)} ago` : ""}, with access to Google Sheets. Your instances get short-lived access
            tokens from Tropic when a skill needs one; the lasting token never leaves Tropic.
          </p>
          <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Disconnect Google
          </button>
        </>
      ) : null}
      {c?.configured && !c.connected ? (
        <>
          <p className="muted" data-testid="google-status">
            Not connected. Connect a Google account so the Google Sheets skill can read and append rows in the spreadsheets it can open.
          </p>
          <button type="button" className="primary" disabled={busy} onClick={start}>
            {busy ? "Opening Google…" : "Connect Google"}
          </button>
        </>
      ) : null}
      {confirming ? (
        <ConfirmDialog title="Disconnect Google?" confirmLabel="Disconnect" danger onConfirm={disconnect} onCancel={() => setConfirming(false)}>
          <p>Tropic deletes its token at once; the Google Sheets skill stops working on your instances until you connect again.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
