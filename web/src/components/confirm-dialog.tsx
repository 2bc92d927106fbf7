// A modal confirmation for destructive actions (delete a policy, rotate the SSH key, remove a
// credential): labelled and described for screen readers, focus on Cancel and kept inside, Escape cancels.
import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import "./confirm-dialog.css";

export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void> | void;
  onCancel: () => void;
}) {
  const id = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { onCancel } = props;

  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    // (a field inside, such as a reason to give, takes focus first when it asks to)
    (boxRef.current?.querySelector<HTMLElement>("[data-autofocus]") ?? cancelRef.current)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onCancel();
      if (e.key !== "Tab" || !boxRef.current) return;
      // Keep focus inside the dialog while it is open.
      const focusable = [
        ...boxRef.current.querySelectorAll<HTMLElement>(
          "button:not(:disabled), a[href], input:not(:disabled), textarea:not(:disabled), select:not(:disabled)",
        ),
      ];
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (!first || !last) return;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      } else if (!boxRef.current.contains(document.activeElement)) {
        e.preventDefault();
        first.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, [onCancel]);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <div className="confirm-backdrop">
      <div className="confirm card" ref={boxRef} role="alertdialog" aria-modal="true" aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`}>
        <h2 id={`${id}-t`}>{props.title}</h2>
        <div id={`${id}-d`} className="confirm-body">
          {props.children}
        </div>
        {error ? (
          <div className="banner error" role="alert">
            {error}
          </div>
        ) : null}
        <div className="confirm-actions">
          <button type="button" ref={cancelRef} onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="button" className={props.danger ? "primary danger-fill" : "primary"} onClick={confirm} disabled={busy}>
            {busy ? "One moment…" : props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
