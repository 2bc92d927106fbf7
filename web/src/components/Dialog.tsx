// A small modal dialog on the native <dialog> element: labelled by its title, focus moves into it
// (its first field) and stays there, Escape closes it, and focus returns to the control that opened it.
import { type ReactNode, useEffect, useId, useRef } from "react";
import "./dialog.css";

export function Dialog(props: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    const d = ref.current;
    const prev = document.activeElement as HTMLElement | null;
    if (d && !d.open) d.showModal();
    // Focus the field marked data-autofocus, else the first field, else (the browser's choice) the first button.
    d?.querySelector<HTMLElement>("[data-autofocus], .modal-body input, .modal-body select, .modal-body textarea")?.focus();
    return () => {
      d?.close();
      prev?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose.current();
      }}
      onMouseDown={(e) => e.target === e.currentTarget && onClose.current()}
    >
      <div className="modal-inner">
        <header>
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="icon" aria-label="Close" onClick={() => onClose.current()}>
            ×
          </button>
        </header>
        <div className="modal-body">{props.children}</div>
        {props.footer ? <footer>{props.footer}</footer> : null}
      </div>
    </dialog>
  );
}

/** A shield (the policy attached to an agent). */
export function ShieldIcon({ filled = false }: { filled?: boolean }) {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        d="M12 2.5 4 5.6v6.1c0 4.9 3.4 8.7 8 9.8 4.6-1.1 8-4.9 8-9.8V5.6L12 2.5z"
        fill={filled ? "currentColor" : "none"}
        stroke="currentColor"
        strokeWidth="1.8"
        strokeLinejoin="round"
      />
      {filled ? <path d="m8.5 12 2.4 2.4 4.6-4.8" fill="none" stroke="#fff" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" /> : null}
    </svg>
  );
}
