// OpenClaw's config is JSON5 (comments, trailing commas, unquoted keys, single quotes). A small reader
// for that subset, so the audit needs no dependency; anything else it cannot read is reported, not guessed.

export function parseJson5(text: string): unknown {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const q = c;
      let s = "";
      i++;
      while (i < n && text[i] !== q) {
        if (text[i] === "\\" && i + 1 < n) {
          const e = text[i + 1]!;
          if (e === "\n") {
            i += 2;
            continue;
          }
          s += e === "'" ? "'" : `\\${e}`;
          i += 2;
          continue;
        }
        s += text[i] === '"' ? '\\"' : text[i] === "\n" ? "\\n" : text[i];
        i++;
      }
      if (i >= n) throw new Error("unterminated string");
      i++;
      out += `"${s}"`;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new Error("unterminated comment");
      i = end + 2;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let w = "";
      while (i < n && /[\w$]/.test(text[i]!)) w += text[i++];
      // an unquoted key (followed by ':') or a literal
      let j = i;
      while (j < n && /\s/.test(text[j]!)) j++;
      if (text[j] === ":") out += JSON.stringify(w);
      else if (w === "Infinity" || w === "NaN") out += "null";
      else out += w;
      continue;
    }
    if (c === "+" && /[\d.]/.test(text[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (c === ",") {
      let j = i + 1;
      for (;;) {
        while (j < n && /\s/.test(text[j]!)) j++;
        if (text[j] === "/" && text[j + 1] === "/") {
          while (j < n && text[j] !== "\n") j++;
          continue;
        }
        if (text[j] === "/" && text[j + 1] === "*") {
          const end = text.indexOf("*/", j + 2);
          j = end < 0 ? n : end + 2;
          continue;
        }
        break;
      }
      if (text[j] === "}" || text[j] === "]") {
        i++;
        continue;
      }
    }
    out += c;
    i++;
  }
  return JSON.parse(out);
}
