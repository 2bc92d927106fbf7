// `tropic whatsapp pair` draws the gateway's PNG QR in the terminal: decoded with node:zlib alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateSync } from "node:zlib";
import { qrPng } from "../../server/test/whatsapp-standin/qr-png.js";
import { decodePng, qrDataUrlToText, qrModules } from "../src/qr-terminal.ts";

const finder = (m: boolean[][], r0: number, c0: number) => {
  for (let r = 0; r < 7; r++)
    for (let c = 0; c < 7; c++) {
      const want = r === 0 || r === 6 || c === 0 || c === 6 || (r >= 2 && r <= 4 && c >= 2 && c <= 4);
      if (m[r0 + r]![c0 + c] !== want) return false;
    }
  return true;
};

test("a PNG QR data URL becomes its 21×21 modules and half-block lines", () => {
  const url = qrPng(7);
  const mods = qrModules(decodePng(Buffer.from(url.split(",")[1]!, "base64")));
  assert.equal(mods.length, 21);
  assert.ok(finder(mods, 0, 0) && finder(mods, 0, 14) && finder(mods, 14, 0), "the three finder patterns");
  const text = qrDataUrlToText(url);
  const lines = text.split("\n");
  assert.equal(lines.length, Math.ceil((21 + 4) / 2));
  assert.ok(lines.every((l) => [...l].length === 25 && /^[█▀▄ ]+$/.test(l)));
  assert.notEqual(qrDataUrlToText(qrPng(8)), text, "another QR draws differently");
});

test("RGBA PNGs with filters (as QR libraries write them) decode to the same modules", () => {
  const grey = decodePng(Buffer.from(qrPng(3).split(",")[1]!, "base64"));
  const { width, height } = grey;
  // RGBA, every row with the Paeth filter (4)
  const rows: Buffer[] = [];
  let prev = Buffer.alloc(width * 4);
  for (let y = 0; y < height; y++) {
    const cur = Buffer.alloc(width * 4);
    for (let x = 0; x < width; x++) {
      const v = grey.px[y * width + x]!;
      cur.set([v, v, v, 255], x * 4);
    }
    const out = Buffer.alloc(width * 4 + 1);
    out[0] = 4;
    for (let i = 0; i < width * 4; i++) {
      const a = i >= 4 ? cur[i - 4]! : 0;
      const b = prev[i]!;
      const c = i >= 4 ? prev[i - 4]! : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      const p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      out[i + 1] = (cur[i]! - p) & 0xff;
    }
    rows.push(out);
    prev = cur;
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type), data, Buffer.alloc(4)]); // (the decoder does not check CRCs)
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const png = Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  assert.equal(qrDataUrlToText(`data:image/png;base64,${png.toString("base64")}`), qrDataUrlToText(qrPng(3)));
  assert.throws(() => qrDataUrlToText("data:image/gif;base64,AAAA"), /not a PNG data URL/);
});
