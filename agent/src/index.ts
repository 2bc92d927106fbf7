export * from "./protocol.ts";
export { runCommand, type CommandContext } from "./commands.ts";
