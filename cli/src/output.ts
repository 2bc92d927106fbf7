/** Tables for people, JSON for scripts. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (!rows.length) return "(none)";
  const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function keyValues(obj: Record<string, unknown>): string {
  const w = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj)
    .map(([k, v]) => `${k.padEnd(w)}  ${fmt(v)}`)
    .join("\n");
}
