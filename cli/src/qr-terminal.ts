// A QR code's PNG data URL (what OpenClaw's web.login.start returns) drawn in a terminal, with no
// dependency: the PNG is decoded with node:zlib (8-bit greyscale, RGB, grey+alpha or RGBA, any filter,
// not interlaced), the module size is read from the top-left finder pattern (7 modules wide), each
// module is sampled at its centre, and two rows of modules make one line of half-block characters.
import { inflateSync } from "node:zlib";

export interface Gray {
  width: number;
  height: number;
  /** 0 (black) … 255 (white), row-major */
  px: Uint8Array;
}

export function decodePng(buf: Buffer): Gray {
  if (buf.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG image");
  let off = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let color = 0;
  let interlace = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("ascii", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      color = data[9]!;
      interlace = data[12]!;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[color];
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG (bit depth ${depth}, colour type ${color}, interlace ${interlace})`);
  if (!width || !height || width * height > 4_000_000) throw new Error("bad PNG size");
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      let p: number;
      if (f === 0) p = 0;
      else if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad PNG filter ${f}`);
      out[y * stride + x] = (line[x]! + p) & 0xff;
    }
  }
  const px = new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const o = i * channels;
    const v = channels >= 3 ? (out[o]! + out[o + 1]! + out[o + 2]!) / 3 : out[o]!;
    const alpha = channels === 2 ? out[o + 1]! : channels === 4 ? out[o + 3]! : 255;
    px[i] = Math.round((v * alpha + 255 * (255 - alpha)) / 255); // on white
  }
  return { width, height, px };
}

/** The QR's modules (true: dark), found from its top-left finder pattern. */
export function qrModules(img: Gray): boolean[][] {
  const dark = (x: number, y: number) => img.px[y * img.width + x]! < 128;
  let x0 = -1;
  let y0 = -1;
  for (let y = 0; y < img.height && x0 < 0; y++)
    for (let x = 0; x < img.width; x++)
      if (dark(x, y)) {
        x0 = x;
        y0 = y;
        break;
      }
  if (x0 < 0) throw new Error("no QR code in the image");
  let run = 0;
  while (x0 + run < img.width && dark(x0 + run, y0)) run++;
  const m = run / 7;
  let x1 = img.width - 1;
  while (x1 > x0 && !dark(x1, y0)) x1--;
  const n = Math.round((x1 - x0 + 1) / m);
  if (n < 21 || n > 177) throw new Error("no QR code in the image");
  const rows: boolean[][] = [];
  for (let r = 0; r < n; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < n; c++) {
      const x = Math.min(img.width - 1, Math.floor(x0 + (c + 0.5) * m));
      const y = Math.min(img.height - 1, Math.floor(y0 + (r + 0.5) * m));
      row.push(dark(x, y));
    }
    rows.push(row);
  }
  return rows;
}

/** Two module rows per line: light modules are drawn (a terminal's background is usually dark), with a 2-module margin. */
export function renderModules(mods: boolean[][], margin = 2): string {
  const n = mods.length + 2 * margin;
  const light = (r: number, c: number) => {
    const rr = r - margin;
    const cc = c - margin;
    return rr < 0 || cc < 0 || rr >= mods.length || cc >= mods.length || !mods[rr]![cc];
  };
  const lines: string[] = [];
  for (let r = 0; r < n; r += 2) {
    let s = "";
    for (let c = 0; c < n; c++) {
      const top = light(r, c);
      const bottom = r + 1 < n ? light(r + 1, c) : true;
      s += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    lines.push(s);
  }
  return lines.join("\n");
}

/** A `data:image/png;base64,…` QR drawn for a terminal. */
export function qrDataUrlToText(dataUrl: string): string {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUrl);
  if (!m) throw new Error("not a PNG data URL");
  return renderModules(qrModules(decodePng(Buffer.from(m[1]!, "base64"))));
}
