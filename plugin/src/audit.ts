// The audit log: one JSON object per line, append-only, rotated by size (audit.log → audit.log.1 …
// audit.log.N). Writes are buffered and flushed off the tool-call path (a timer, one write in
// flight), so a tool call only pays for JSON.stringify and an array push. On process exit whatever
// is still buffered is written synchronously.
import { appendFileSync, chmodSync, mkdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { appendFile, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";

// The gateway's own group may read the log (on a Tropic host that group's only other member is the
// instance's agent user, who serves the Audit page); nobody else may.
export const AUDIT_DIR_MODE = 0o750;
export const AUDIT_FILE_MODE = 0o640;
export type AuditDecision = "ALLOW" | "DENY" | "REDACT" | "CONFIRM";
export interface AuditEntry {
  /** ISO-8601 timestamp */
  ts: string;
  /** "call" (decision before the tool runs), "approval" (the user's answer to a CONFIRM), "result" (output redaction) */
  phase: "call" | "approval" | "result";
  agentId: string;
  tool: string;
  toolCallId?: string;
  sessionKey?: string;
  /** redacted, truncated JSON of the params */
  paramsDigest?: string;
  /** sha256 of the canonical params JSON (to match calls without storing their content) */
  paramsSha256?: string;
  decision: AuditDecision;
  rules: string[];
  /** what the gate took, in milliseconds (decision or redaction), not the tool's own run time */
  durationMs: number;
  reason?: string;
  /** approval phase: allow-once | allow-always | deny | timeout | cancelled */
  approval?: string;
  /** redaction phase: the kinds of secret replaced */
  redactions?: string[];
  /** set when the gate failed closed or could not evaluate */
  error?: string;
}

export interface AuditOptions {
  maxBytes: number;
  keep: number;
  flushMs?: number;
}

export class AuditLog {
  private buf: string[] = [];
  private size = -1;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private exitHook = () => this.flushSync();
  failures = 0;
  lastError: string | null = null;

  constructor(
    readonly path: string,
    public opts: AuditOptions,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: AUDIT_DIR_MODE });
    process.on("exit", this.exitHook);
  }

  write(e: AuditEntry) {
    this.buf.push(`${JSON.stringify(e)}\n`);
    if (!this.timer && !this.writing) {
      this.timer = setTimeout(() => void this.flush(), this.opts.flushMs ?? 25);
      this.timer.unref();
    }
  }

  /** Writes everything buffered (awaitable; tests and shutdown use it). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing) await this.writing;
    if (!this.buf.length) return;
    const chunk = this.buf.join("");
    this.buf = [];
    this.writing = this.append(chunk).finally(() => {
      this.writing = null;
    });
    await this.writing;
    if (this.buf.length) await this.flush();
  }

  private async append(chunk: string) {
    try {
      if (this.size < 0)
        this.size = await stat(this.path).then(
          (s) => s.size,
          () => 0,
        );
      if (this.size > 0 && this.size + chunk.length > this.opts.maxBytes) await this.rotate();
      await appendFile(this.path, chunk, { mode: AUDIT_FILE_MODE });
      this.size += Buffer.byteLength(chunk);
    } catch (e) {
      this.failures++;
      this.lastError = (e as Error).message;
      this.size = -1;
      try {
        process.stderr.write(`[tropic-gate] audit log write failed (${this.path}): ${(e as Error).message}\n`);
      } catch {}
    }
  }

  private async rotate() {
    for (let i = this.opts.keep; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      const to = `${this.path}.${i}`;
      if (i === this.opts.keep) await unlink(to).catch(() => {});
      await rename(from, to).catch(() => {});
    }
    this.size = 0;
  }

  flushSync() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.buf.length) return;
    const chunk = this.buf.join("");
    this.buf = [];
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: AUDIT_DIR_MODE });
      let size = 0;
      try {
        size = statSync(this.path).size;
      } catch {}
      if (size > 0 && size + chunk.length > this.opts.maxBytes) {
        for (let i = this.opts.keep; i >= 1; i--) {
          const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
          if (i === this.opts.keep)
            try {
              unlinkSync(`${this.path}.${i}`);
            } catch {}
          try {
            renameSync(from, `${this.path}.${i}`);
          } catch {}
        }
      }
      appendFileSync(this.path, chunk, { mode: AUDIT_FILE_MODE });
      try {
        chmodSync(this.path, AUDIT_FILE_MODE);
      } catch {}
    } catch {}
  }

  close() {
    this.flushSync();
    process.off("exit", this.exitHook);
  }
}
