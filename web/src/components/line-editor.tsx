// A plain-text editor with line numbers: a gutter beside a textarea, lines with an error marked
// red in the gutter and behind the text (the messages themselves are rendered by the caller and
// referenced through aria-describedby).
import { useLayoutEffect, useRef, useState } from "react";
import "./line-editor.css";

export function LineEditor(props: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  /** 1-based line numbers that have an error */
  errorLines: ReadonlySet<number>;
  describedBy?: string;
  placeholder?: string;
  minRows?: number;
}) {
  const taRef = useRef<HTMLTextAreaElement>(null);
  const [scroll, setScroll] = useState({ top: 0 });
  const lines = props.value.split("\n");
  const rows = Math.max(props.minRows ?? 10, lines.length + 1);

  // Keep the gutter aligned when the content changes the scroll position (e.g. typing at the end).
  useLayoutEffect(() => {
    const ta = taRef.current;
    if (ta && ta.scrollTop !== scroll.top) setScroll({ top: ta.scrollTop });
  });

  const invalid = props.errorLines.size > 0;
  return (
    <div className={`line-editor${invalid ? " invalid" : ""}`}>
      <div className="le-gutter" aria-hidden="true">
        <div style={{ transform: `translateY(${-scroll.top}px)` }}>
          {lines.map((_, i) => {
            const n = i + 1;
            const bad = props.errorLines.has(n);
            return (
              <div key={n} className={bad ? "le-num bad" : "le-num"} data-line={n} data-error={bad ? "true" : undefined}>
                {bad ? "! " : ""}
                {n}
              </div>
            );
          })}
        </div>
      </div>
      <div className="le-body">
        <div className="le-marks" aria-hidden="true" style={{ transform: `translateY(${-scroll.top}px)` }}>
          {lines.map((_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: line numbers are positions
            <div key={i} className={props.errorLines.has(i + 1) ? "le-mark bad" : "le-mark"} />
          ))}
        </div>
        <textarea
          ref={taRef}
          id={props.id}
          className="code"
          value={props.value}
          rows={rows}
          wrap="off"
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          placeholder={props.placeholder}
          aria-invalid={invalid ? "true" : "false"}
          aria-describedby={props.describedBy}
          onChange={(e) => props.onChange(e.target.value)}
          onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop })}
        />
      </div>
    </div>
  );
}
