// Shared pieces every page uses: loading, empty and error states, state badges, a drawer, a hook
// that loads data and reloads it, and form fields with their error.
import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../api.ts";

/** Loads with `fn`, exposes data/error/loading and a reload; polls every `pollMs` when given. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = [], pollMs?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(true);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const reload = useCallback(async () => {
    try {
      setData(await fnRef.current());
      setError(null);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  }, []);
  // The caller's deps decide when to load again (compared by value).
  const key = JSON.stringify(deps);
  useEffect(() => {
    if (key === undefined) return;
    setLoading(true);
    void reload();
    if (!pollMs) return;
    const t = setInterval(() => void reload(), pollMs);
    return () => clearInterval(t);
  }, [key, pollMs, reload]);
  return { data, error, loading, reload, setData };
}

/**
 * An action a button starts: which one is running (its key, to disable and relabel buttons) and
 * the error of the last one. `run` resolves true when the action succeeded.
 */
export function useAction() {
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(async (key: string, fn: () => Promise<unknown>): Promise<boolean> => {
    setPending(key);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(e as Error);
      return false;
    } finally {
      setPending(null);
    }
  }, []);
  return { pending, error, run };
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function ErrorBanner({ error, onRetry }: { error: Error | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="banner error" role="alert">
      <span>{error.message}</span>
      {onRetry ? (
        <button type="button" className="link" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "warn" | "ok"; children: ReactNode }) {
  return (
    <div className={`banner ${kind}`} role="status">
      {children}
    </div>
  );
}

const STATE_TEXT: Record<string, string> = {
  provisioning: "Provisioning",
  initializing: "Starting",
  restarting: "Restarting",
  running: "Running",
  stopping: "Stopping",
  stopped: "Stopped",
  failed: "Failed",
  deleting: "Deleting",
  ready: "Ready",
  pending: "Pending",
  installed: "Installed",
  paused: "Paused",
};

/** A state as colour and text (never colour alone). */
export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge state-${state}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {STATE_TEXT[state] ?? state}
    </span>
  );
}

/** A labelled input with its error under it (the API's `field` decides where errors go). */
export function Field(props: {
  label: string;
  error?: string | null;
  hint?: ReactNode;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errId : "", props.hint ? hintId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${props.error ? " has-error" : ""}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint ? (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      ) : null}
      {props.error ? (
        <div className="field-error" id={errId} role="alert">
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/** The error for one field of an ApiError, if it is about that field. */
export function fieldError(e: unknown, field: string): string | null {
  return e instanceof ApiError && e.field !== undefined && (e.field === field || e.field.startsWith(`${field}.`)) ? e.message : null;
}

/** A side drawer (a dialog) with focus moved into it and Escape to close. */
export function Drawer(props: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && props.onClose();
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, [props.onClose]);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click beside the drawer closes it (a mouse shortcut; Escape and the Close button are the accessible ways)
    <div className="drawer-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div className="drawer" role="dialog" aria-modal="true" aria-label={props.title} tabIndex={-1} ref={ref}>
        <header>
          <h2>{props.title}</h2>
          <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        <div className="drawer-body">{props.children}</div>
      </div>
    </div>
  );
}

/** The width of an element as it is laid out (a chart draws to it), at least 260 px. */
export function useWidth<T extends HTMLElement>(fallback: number) {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(260, Math.floor(el.getBoundingClientRect().width)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return { ref, width };
}

export function formatCredits(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: n < 10 ? 2 : 1 });
}

export function timeAgo(iso: string | null | undefined): string {
  if (!iso) return "—";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** Tropic's mark: a palm in a circle. */
export function Logo({ size = 22 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <circle cx="16" cy="16" r="15" fill="#0f766e" />
      <path
        d="M16 26V14M16 14c-3-4-8-4-10-2 3-1 6 0 10 2zm0 0c3-4 8-4 10-2-3-1-6 0-10 2zm0 0c-1-4-4-7-7-7 3 1 5 4 7 7zm0 0c1-4 4-7 7-7-3 1-5 4-7 7z"
        stroke="#fff"
        strokeWidth="2"
        fill="none"
        strokeLinecap="round"
      />
    </svg>
  );
}
