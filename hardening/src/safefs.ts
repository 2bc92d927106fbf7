// Reading files a tenant controls: never through a symlink at the last component (O_NOFOLLOW), never
// blocking on a FIFO or device swapped in after an lstat (O_NONBLOCK, then fstat must say regular
// file), and in bounded chunks so a huge file costs no memory.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";

export const OPEN_SAFE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CHUNK = 1 << 16;

function withRegular<T>(path: string, f: (fd: number, size: number) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_SAFE);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    return f(fd, st.size);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The last `max` bytes of a regular file as UTF-8, or undefined. */
export function readTail(path: string, max: number): string | undefined {
  return withRegular(path, (fd, size) => {
    // procfs files (/proc/net/tcp) say size 0: read them from the start until EOF, up to max
    if (size === 0) {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buf = Buffer.alloc(CHUNK);
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n <= 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (total >= max) break;
      }
      return Buffer.concat(chunks).subarray(0, max).toString("utf8");
    }
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    let off = 0;
    while (off < len) {
      const n = readSync(fd, buf, off, len - off, size - len + off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  });
}

/** sha256 of a regular file, read in chunks; undefined when it is not one (or unreadable). */
export function hashFile(path: string): string | undefined {
  return withRegular(path, (fd) => {
    const h = createHash("sha256");
    const buf = Buffer.alloc(CHUNK);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    return h.digest("hex");
  });
}
