export * from "./services.ts";
export * from "./layout.ts";
