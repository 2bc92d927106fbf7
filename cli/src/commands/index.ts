import type { ParseArgsConfig } from "node:util";
import { accountCommands } from "./account.ts";
import { resourceCommands } from "./resources.ts";
import { localCommands } from "./local.ts";
import { runtimeCommands } from "./runtime.ts";
import { sshCommands } from "./ssh.ts";

export interface Context {
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
  out: (s: string) => void;
}

export interface Command {
  /** Takes its argv untouched (it parses its own flags). */
  raw?: boolean;
  options?: NonNullable<ParseArgsConfig["options"]>;
  run(ctx: Context): Promise<number | undefined>;
}

export const commands: Record<string, Command> = { ...localCommands, ...runtimeCommands, ...accountCommands, ...resourceCommands, ...sshCommands };
