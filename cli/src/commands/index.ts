import { accountCommands } from "./account.ts";
import { auditCommands } from "./audit.ts";
import { gateCommands } from "./gate.ts";
import { localCommands } from "./local.ts";
import { resourceCommands } from "./resources.ts";
import { runtimeCommands } from "./runtime.ts";
import { settingsCommands } from "./settings.ts";
import { sshCommands } from "./ssh.ts";
import { whatsappCommands } from "./whatsapp.ts";

export interface Context {
  /** how the user called it, for messages: "tropic policy set" */
  path: string;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
  out: (s: string) => void;
}

export interface Option {
  type: "string" | "boolean";
  short?: string;
  /** the value's placeholder in help and messages: --agent AGENT */
  value?: string;
  help: string;
}

/** How an API field the command sends is called on the command line, and what to run next when it is refused. */
export interface FieldWords {
  /** "--agent", "TEMPLATE", "the password" */
  as?: string;
  /** "tropic instances ls" */
  next?: string;
}

export interface Command {
  /** Takes its argv untouched (it parses its own flags). */
  raw?: boolean;
  /** what follows the command in its usage line: "NAME FILE [--agent AGENT]" */
  usage?: string;
  /** one line for --help */
  summary?: string;
  /** positional arguments in order; "[X]" is optional, a trailing "X..." takes any number */
  args?: string[];
  options?: Record<string, Option>;
  /** the API fields this command sends, in the command line's words */
  fields?: Record<string, FieldWords>;
  /** sub-commands: `tropic policy set …` */
  verbs?: Record<string, Command>;
  /** the verb run when none is given */
  defaultVerb?: string;
  run?(ctx: Context): Promise<number | undefined>;
}

export const commands: Record<string, Command> = {
  ...localCommands,
  ...runtimeCommands,
  ...accountCommands,
  ...resourceCommands,
  ...settingsCommands,
  ...sshCommands,
  ...auditCommands,
  ...gateCommands,
  ...whatsappCommands,
};
