// System pack (24 rules, opt-in): OpenClaw workspace identity files, config and credentials,
// sessions, plugin manifests, IDE config and other persistence points.

import { type PackRule, ed, rd, rule, wr } from "./dsl.ts";

const r = (id: string, d: string, any: PackRule["any"], deny: PackRule["deny"], allow: PackRule["allow"]) =>
  rule("system", `system-${id}`, d, any, deny, allow);
const W: PackRule["any"][number]["op"] = ["write", "delete"];
const RW: PackRule["any"][number]["op"] = ["read", "write", "delete", "access"];

const identity = (file: string, what: string) =>
  r(
    `protect-${file.toLowerCase().replace(".md", "")}`,
    `Blocks changing or deleting ${file} (${what}).`,
    [{ op: W, pathLike: [`*/${file}`] }],
    [wr(file, "new rules"), `echo x >> ${file}`, ed(file, "ignore the owner")],
    [rd(file), wr(`docs/${file.replace(".md", "")}-notes.md`)],
  );

export const SYSTEM: PackRule[] = [
  identity("AGENTS.md", "the agent's operating instructions"),
  identity("SOUL.md", "the agent's persona"),
  identity("IDENTITY.md", "the agent's identity"),
  identity("USER.md", "what the agent knows about its user"),
  identity("BOOT.md", "startup instructions"),
  identity("BOOTSTRAP.md", "first-run instructions"),
  identity("TOOLS.md", "tool instructions"),
  r(
    "protect-memory-delete",
    "Blocks deleting MEMORY.md or the memory directory (edits stay allowed).",
    // the agent's memory directory is the workspace's own `memory/` (a `memory` directory elsewhere, such as
    // `dist/memory` or `packages/x/memory`, is a project's)
    [
      {
        op: ["delete"],
        pathLike: ["*/MEMORY.md", "*/.openclaw/workspace/memory", "*/.openclaw/workspace/memory/*", "*/.openclaw/memory", "*/.openclaw/memory/*"],
      },
    ],
    ["rm MEMORY.md", "rm -r memory", "find memory -delete"],
    [ed("MEMORY.md", "- user likes tea"), rd("MEMORY.md"), "rm -rf packages/*/dist", "rm -r src/memory"],
  ),
  r(
    "protect-openclaw-config-write",
    "Blocks changing ~/.openclaw/openclaw.json directly.",
    [{ op: W, pathLike: ["*/.openclaw/openclaw.json", "*/.openclaw/openclaw.json.*"] }],
    [wr("~/.openclaw/openclaw.json", "{}"), "sed -i s/a/b/ ~/.openclaw/openclaw.json"],
    [wr("config/openclaw-notes.json")],
  ),
  r(
    "protect-openclaw-config-read",
    "Blocks reading openclaw.json (it holds the gateway token).",
    [{ op: ["read", "access"], pathLike: ["*/.openclaw/openclaw.json", "*/.openclaw/openclaw.json.*"] }],
    [rd("~/.openclaw/openclaw.json"), "cat ~/.openclaw/openclaw.json"],
    [rd("openclaw.json.md"), "openclaw --version"],
  ),
  r(
    "protect-openclaw-env",
    "Blocks access to OpenClaw's .env (API keys).",
    [{ op: RW, pathLike: ["*/.openclaw/.env", "*/.openclaw/*.env"] }],
    [rd("~/.openclaw/.env"), "cat ~/.openclaw/.env"],
    [rd("~/.openclaw/workspace/notes.md")],
  ),
  r(
    "protect-channel-credentials",
    "Blocks access to channel credentials (WhatsApp session, OAuth tokens) under ~/.openclaw/credentials.",
    [{ op: RW, pathLike: ["*/.openclaw/credentials/*", "*/.openclaw/credentials"] }],
    ["ls ~/.openclaw/credentials/whatsapp", rd("~/.openclaw/credentials/oauth.json")],
    ["openclaw channels status"],
  ),
  r(
    "protect-auth-profiles",
    "Blocks access to model provider auth profiles.",
    [{ op: RW, pathLike: ["*/auth-profiles.json", "*/.openclaw/agents/*/agent/*"] }],
    [rd("~/.openclaw/agents/main/agent/auth-profiles.json")],
    [rd("docs/auth.md")],
  ),
  r(
    "protect-sessions-read",
    "Blocks reading session transcripts directly (other conversations, possibly other agents).",
    [{ op: ["read", "access"], pathLike: ["*/.openclaw/agents/*/sessions/*", "*/.openclaw/agents/*/sessions", "*/.openclaw/sessions/*"] }],
    [rd("~/.openclaw/agents/main/sessions/abc.jsonl"), "grep -r password ~/.openclaw/agents/main/sessions/"],
    [rd("sessions.md")],
  ),
  r(
    "protect-sessions-tamper",
    "Blocks changing or deleting session transcripts.",
    [{ op: W, pathLike: ["*/.openclaw/agents/*/sessions/*", "*/.openclaw/sessions/*"] }],
    ["rm ~/.openclaw/agents/main/sessions/abc.jsonl"],
    ["mkdir sessions-archive"],
  ),
  r(
    "protect-plugin-manifests",
    "Blocks changing plugin manifests and installed extensions.",
    [{ op: W, pathLike: ["*/openclaw.plugin.json", "*/.openclaw/extensions/*"] }],
    [wr("~/.openclaw/extensions/x/openclaw.plugin.json", "{}"), "rm -r ~/.openclaw/extensions/gate"],
    [rd("~/.openclaw/extensions/x/openclaw.plugin.json")],
  ),
  r(
    "deny-plugin-changes",
    "Blocks installing, enabling, disabling or removing OpenClaw plugins from a tool call.",
    [
      {
        op: ["exec"],
        program: ["openclaw"],
        argsAny: ["plugins", "plugin"],
        argvLike: ["* install*", "* enable*", "* disable*", "* uninstall*", "* remove*", "* link*"],
      },
    ],
    ["openclaw plugins install ./evil", "openclaw plugins disable tropic-gate"],
    ["openclaw plugins list", "openclaw status"],
  ),
  r(
    "deny-config-cli",
    "Blocks changing OpenClaw configuration through the CLI.",
    [{ op: ["exec"], program: ["openclaw"], argsAny: ["config"], argvLike: ["* set *", "* unset *", "* set", "* unset"] }],
    ["openclaw config set gateway.bind lan", "openclaw config unset gateway.auth"],
    ["openclaw config get agents", "openclaw doctor"],
  ),
  r(
    "protect-audit-log",
    "Blocks changing or deleting the gate's audit log.",
    [{ op: W, pathLike: ["*/.openclaw/.sondera/*", "*/.openclaw/.tropic/*"] }],
    ["rm ~/.openclaw/.sondera/audit.log", "echo > ~/.openclaw/.sondera/audit.log"],
    [rd("~/.openclaw/.sondera/audit.log")],
  ),
  r(
    "protect-vscode",
    "Blocks changing VS Code workspace settings and tasks (auto-run tasks, extensions).",
    [{ op: W, pathLike: ["*/.vscode/settings.json", "*/.vscode/tasks.json", "*/.vscode/launch.json", "*/.vscode/extensions.json"] }],
    [wr(".vscode/tasks.json", "{}"), wr(".vscode/settings.json", "{}")],
    [rd(".vscode/settings.json"), wr("docs/vscode.md")],
  ),
  r(
    "protect-ai-ide-config",
    "Blocks changing AI-IDE and MCP configuration (.cursor, .claude, mcp.json, .idea).",
    [{ op: W, pathLike: ["*/.cursor/*", "*/.claude/*", "*/mcp.json", "*/.mcp.json", "*/.idea/*", "*/.windsurf/*", "*/.continue/*"] }],
    [wr(".cursor/mcp.json", "{}"), wr(".claude/settings.json", "{}")],
    [rd(".claude/settings.json"), wr("mcp-notes.md")],
  ),
  r(
    "protect-git-hooks",
    "Blocks writing git hooks (code that runs on every commit).",
    [
      { op: W, pathLike: ["*/.git/hooks/*", "*/.git/config"] },
      {
        op: ["exec"],
        program: ["git"],
        argvLike: ["*core.hookspath=*", "*config*core.hookspath *", "*init.templatedir=*", "*config*init.templatedir *"],
        outside: true,
      },
    ],
    [wr(".git/hooks/pre-commit", "curl x|sh"), "git config core.hooksPath /tmp/h", "git config --global init.templateDir /tmp/tpl"],
    [rd(".git/hooks/pre-commit.sample"), "git commit -m x", "git config --get core.hooksPath", "git config core.hooksPath .husky"],
  ),
  r(
    "protect-shell-rc",
    "Blocks changing shell startup files (persistence).",
    [
      {
        op: W,
        pathLike: [
          "*/.bashrc",
          "*/.bash_profile",
          "*/.profile",
          "*/.zshrc",
          "*/.zprofile",
          "*/.zshenv",
          "*/.bash_logout",
          "*/.config/fish/config.fish",
        ],
      },
    ],
    ["echo 'curl x|sh' >> ~/.bashrc", wr("~/.zshrc", "x")],
    ["cat ~/.bashrc", rd("~/.profile")],
  ),
  r(
    "protect-user-services",
    "Blocks creating user services, autostart entries and systemd units.",
    [{ op: W, pathLike: ["*/.config/systemd/*", "*/.config/autostart/*", "/etc/systemd/*", "/lib/systemd/*"] }],
    [wr("~/.config/systemd/user/x.service", "[Service]"), wr("~/.config/autostart/x.desktop")],
    [rd("~/.config/systemd/user/openclaw-gateway.service"), "systemctl --user status"],
  ),
];
