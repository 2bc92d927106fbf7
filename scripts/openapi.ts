// Writes docs/openapi.json from the route schemas. Building the app runs no query, so no database is opened.
import { writeFileSync } from "node:fs";
import { buildApp } from "../server/src/app.ts";
import { loadConfig } from "../server/src/config.ts";
import type { Database } from "../server/src/db/connect.ts";
import { LocalKek } from "../server/src/secrets/envelope.ts";

export async function openApiDocument(): Promise<unknown> {
  const unused = { kind: "pglite", pool: undefined, db: undefined, close: async () => {} };
  const app = await buildApp({ config: loadConfig({}), database: unused as unknown as Database, kek: new LocalKek(Buffer.alloc(32)), logger: false });
  await app.ready();
  const doc = app.swagger();
  await app.close();
  return doc;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = new URL("../docs/openapi.json", import.meta.url);
  writeFileSync(out, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  console.log(`wrote ${out.pathname}`);
}
