// A tool call (OpenClaw's real tool names and params) → the normalised ops the rules see.
// `primary` ops are what an ALLOW rule must name in lockdown mode; derived ops (the net op of a
// web_fetch, the whole-line `shell` op) are still checked by DENY / REQUIRE CONFIRM rules.

import { type OpContext, emptyContext, vocab } from "@tropic/policy";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { type CallEnv, inWorkspace, isPrivateHost, parseTarget, resolvePath, resolvePattern } from "./env.ts";
import { hasSecret } from "./redact.ts";
import { CommandAnalyzer, type GlobRef } from "./shell/analyze.ts";
import { hasGlob } from "./shell/parse.ts";

export interface ToolCall {
  tool: string;
  params: Record<string, unknown>;
  agentId?: string;
  workspace?: string;
}
export interface Op {
  ctx: OpContext;
  primary: boolean;
  /** the program or code this op runs is only known when the command runs: why (the engine denies it) */
  unknown?: string;
  /** the path is a file-name pattern: the engine also checks the protected paths it could expand to */
  glob?: GlobRef;
  /** how this op was derived (a path a pattern could expand to), for the reason */
  via?: string;
}

const str = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
const SEND_ACTIONS = new Set([
  "send",
  "reply",
  "sendmessage",
  "send_message",
  "post",
  "broadcast",
  "poll",
  "sendattachment",
  "forward",
  "thread-reply",
  "dm",
  "",
]);
const CONTENT_MAX = 8192;

export function normalisePhone(target: string): string {
  let t = target
    .trim()
    .replace(/^(?:whatsapp|tel|sms|signal):/i, "")
    .replace(/@(?:s\.whatsapp\.net|c\.us)$/i, "");
  if (/^\d{6,15}$/.test(t)) t = `+${t}`;
  if (!/^\+[\d\s().-]{6,20}$/.test(t)) return "";
  const p = parsePhoneNumberFromString(t);
  return p ? p.number : `+${t.replace(/\D/g, "")}`;
}

export function callToOps(call: ToolCall, env: CallEnv): Op[] {
  const tool = call.tool;
  const p = call.params ?? {};
  const ops: Op[] = [];
  const mk = (op: OpContext["op"]) => {
    const c = emptyContext(op, tool, env.agent);
    c.sandbox = env.sandbox;
    return c;
  };
  const fileOp = (op: "read" | "write" | "delete", path: string, content = "", mode = "") => {
    const c = mk(op);
    c.path = resolvePath(path, env);
    c.inWorkspace = inWorkspace(c.path, env);
    c.content = content.slice(0, CONTENT_MAX).toLowerCase();
    c.mode = mode;
    c.program = tool;
    // The tools take the path literally, but a name like `.e*` can only be a link the agent made to
    // something it should not name: such a path is checked as the pattern it looks like.
    const pattern = path.replace(/\\/g, "\\\\");
    ops.push({ ctx: c, primary: true, ...(hasGlob(pattern) ? { glob: { pattern: resolvePattern(pattern, env), shown: path } } : {}) });
  };
  const browse = (url: string) => {
    // a file: page is a read of that file, in every form the URL standard reads (`file:///x`, `file://localhost/x`,
    // `file:/x`, `file:x`, any case, backslashes as slashes)
    if (/^\s*file:/i.test(url)) {
      const p = decodeURIComponent(
        url
          .trim()
          .replace(/\\/g, "/")
          .replace(/^file:(?:\/\/(?:localhost)?(?=\/)|\/\/(?!\/))?/i, ""),
      );
      fileOp("read", p.startsWith("/") ? p : `/${p}`);
      return;
    }
    const t = url ? parseTarget(url) : null;
    const b = mk("browse");
    // Browser actions without a URL (click, type, snapshot) continue the page already approved.
    Object.assign(b, t ? { url: t.url, host: t.host, port: t.port, hostPublic: !isPrivateHost(t.host) } : { hostPublic: true });
    ops.push({ ctx: b, primary: true });
    if (t) {
      const n = mk("net");
      Object.assign(n, { url: t.url, host: t.host, port: t.port, hostPublic: b.hostPublic, program: tool });
      ops.push({ ctx: n, primary: false });
    }
  };

  switch (tool) {
    case "exec":
    case "bash": {
      const command = str(p.command);
      if (!command.trim()) throw new Error("exec call without a command");
      const cwd = str(p.workdir) ? resolvePath(str(p.workdir), env) : env.cwd;
      const a = new CommandAnalyzer({ ...env, cwd }, command);
      for (const o of a.run(command, { background: p.background === true })) {
        const op: Op = { ctx: o, primary: o.op !== "shell" && o.op !== "net" && o.op !== "listen" && o.op !== "download" };
        const unknown = a.unknown.get(o);
        if (unknown) op.unknown = unknown;
        const glob = a.globs.get(o);
        if (glob) op.glob = glob;
        ops.push(op);
      }
      break;
    }
    case "read":
      fileOp("read", str(p.path ?? p.file_path ?? p.file));
      break;
    case "write":
      fileOp("write", str(p.path ?? p.file_path ?? p.file), str(p.content), "overwrite");
      break;
    case "edit": {
      const edits = Array.isArray(p.edits) ? p.edits : [{ newText: p.newText ?? p.new_string }];
      fileOp(
        "write",
        str(p.path ?? p.file_path ?? p.file),
        edits.map((e) => str((e as Record<string, unknown>)?.newText ?? (e as Record<string, unknown>)?.new_string)).join("\n"),
        "edit",
      );
      break;
    }
    case "apply_patch": {
      const patch = str(p.input ?? p.patch);
      for (const m of patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$|^\+\+\+ (?:b\/)?(.+)$|^\*\*\* Move to: (.+)$/gm)) {
        const path = (m[2] ?? m[3] ?? m[4]).trim();
        if (path === "/dev/null") continue;
        fileOp(m[1] === "Delete" ? "delete" : "write", path, patch, "patch");
      }
      break;
    }
    case "web_fetch":
      browse(str(p.url));
      break;
    case "browser":
      browse(str(p.url ?? p.targetUrl ?? p.target_url));
      break;
    case "message": {
      const action = str(p.action).toLowerCase();
      if (!SEND_ACTIONS.has(action)) break;
      ops.push({
        ctx: message(mk("message"), str(p.channel), str(p.target ?? p.to ?? p.recipient), str(p.message ?? p.text ?? p.content), action),
        primary: true,
      });
      break;
    }
    case "cron": {
      const c = mk("cron");
      const job = (p.job ?? {}) as Record<string, unknown>;
      c.action = str(p.action).toLowerCase();
      c.schedule = str(job.schedule ?? (job.cron as unknown) ?? p.schedule ?? p.cron).toLowerCase();
      c.content = str(job.payload ?? job.message ?? job.text ?? p.text)
        .slice(0, CONTENT_MAX)
        .toLowerCase();
      ops.push({ ctx: c, primary: true });
      break;
    }
    default: {
      // Channel-specific send tools (whatsapp_send, send_email, slack_post, …) are message ops too.
      const m = /(whatsapp|telegram|slack|discord|signal|email|mail|sms|imessage|teams|matrix)/i.exec(tool);
      if (m && /send|post|message|reply|dm|mail/i.test(tool)) {
        const ch = m[1].toLowerCase() === "mail" ? "email" : m[1].toLowerCase();
        ops.push({
          ctx: message(
            mk("message"),
            ch,
            str(p.target ?? p.to ?? p.recipient ?? p.phone ?? p.number ?? p.chatId),
            str(p.message ?? p.text ?? p.body ?? p.content),
            "send",
          ),
          primary: true,
        });
      }
    }
  }
  const t = mk("tool");
  t.action = str(p.action).toLowerCase();
  ops.push({ ctx: t, primary: !ops.some((o) => o.primary) });
  return ops;
}

function message(c: OpContext, channel: string, target: string, text: string, action: string): OpContext {
  c.channel = channel.toLowerCase().replace(/[^a-z]/g, "");
  c.target = target;
  c.phone = normalisePhone(target);
  c.content = text.slice(0, CONTENT_MAX).toLowerCase();
  c.action = action;
  c.secret = hasSecret(text);
  if (!c.channel && c.phone) c.channel = "whatsapp"; // a bare E.164 target is a phone channel
  if (c.channel && !vocab.MESSAGE_CHANNELS.includes(c.channel) && c.phone) c.channel = c.channel || "whatsapp";
  return c;
}
