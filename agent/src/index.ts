export * from "./protocol.ts";
export { runCommand, type CommandContext } from "./commands.ts";
export * from "./tunnel.ts";
export type { WhatsAppPolicy, WhatsAppStatus } from "./whatsapp.ts";
