export { buildApp, LOG_REDACT } from "./app.ts";
export { loadConfig, type Config } from "./config.ts";
export { openDatabase, type Database } from "./db/connect.ts";
export { migrate } from "./db/migrate.ts";
export { startServer, type RunningServer, warmHostBundlesEnv } from "./server.ts";
export { LocalKek, loadLocalKek } from "./secrets/envelope.ts";
export { loadKeyring } from "./secrets/keyring.ts";
export { rewrapAll } from "./secrets/rewrap.ts";
