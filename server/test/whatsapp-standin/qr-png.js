// MOCK (tests only): the stand-in WhatsApp plugin's QR images, PNG data URLs made with node:zlib alone.
import { crc32, deflateSync } from "node:zlib";

/** A QR-like PNG (21×21 modules, 4 px each, quiet zone of 4): finder patterns and `seed`-dependent data modules. */
export function qrPng(seed) {
  const n = 21;
  const m = [];
  let x = (Math.imul(seed | 0, 2654435761) ^ 0x9e3779b9) >>> 0;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 16) & 1;
  };
  for (let r = 0; r < n; r++) {
    m.push([]);
    for (let c = 0; c < n; c++) m[r].push(rnd());
  }
  for (const [or, oc] of [
    [0, 0],
    [0, n - 7],
    [n - 7, 0],
  ])
    for (let r = -1; r <= 7; r++)
      for (let c = -1; c <= 7; c++) {
        if (or + r < 0 || oc + c < 0 || or + r >= n || oc + c >= n) continue;
        const inside = r >= 0 && r <= 6 && c >= 0 && c <= 6; // (around it: the light separator)
        const edge = r === 0 || r === 6 || c === 0 || c === 6;
        const core = r >= 2 && r <= 4 && c >= 2 && c <= 4;
        m[or + r][oc + c] = inside && (edge || core) ? 1 : 0;
      }
  const scale = 4;
  const quiet = 4;
  const size = (n + 2 * quiet) * scale;
  const raw = Buffer.alloc((size + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size + 1)] = 0;
    for (let xx = 0; xx < size; xx++) {
      const r = Math.floor(y / scale) - quiet;
      const c = Math.floor(xx / scale) - quiet;
      const dark = r >= 0 && c >= 0 && r < n && c < n && m[r][c] === 1;
      raw[y * (size + 1) + 1 + xx] = dark ? 0 : 255;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  return `data:image/png;base64,${png.toString("base64")}`;
}
