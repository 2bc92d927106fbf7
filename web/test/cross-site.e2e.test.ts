// A page on another origin cannot drive Tropic's API with the user's cookie (issue 14): in Chromium,
// signed in to Tropic on http://127.0.0.1:<port>, the user opens a page on http://127.0.0.1:<other
// port>: the same site (SameSite=Lax cookies go along), another origin — as a proxied Control UI on its
// own origin would be. Its auto-submitted form posts a restart of the user's instance; Tropic refuses it
// and nothing is queued. The same request from Tropic's own page goes through.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { RunningServer } from "../../server/src/server.ts";
import { dashboardServer, freshDataDir, removeDir } from "../../server/test/instances-harness.ts";
import { type BrowserSession, CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;
let server: RunningServer;
let dataDir: string;
let b: BrowserSession;
const evil = createServer();

before(async () => {
  if (skip) return;
  dataDir = freshDataDir();
  server = await dashboardServer(dataDir);
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await server?.close();
  evil.close();
  if (dataDir) removeDir(dataDir);
});

test("a cross-site form post with the user's cookie is refused; Tropic's own page is not", { skip }, async () => {
  await signUpInBrowser(b.page, server.url, `cross-${Date.now()}@example.com`);
  const created = await b.page.request.post(`${server.url}/api/v1/instances`, { data: { name: "target" } });
  assert.equal(created.status(), 201);
  const id = (await created.json()).id as string;
  const target = `${server.url}/api/v1/instances/${id}/stop`;
  evil.on("request", (_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(
      `<!doctype html><html><body><form id="f" method="POST" enctype="text/plain" action="${target}"><input name="x" value="y"></form>` +
        `<script>document.getElementById("f").submit()</script></body></html>`,
    );
  });
  await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
  const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;

  const answered = b.page.waitForResponse((r) => r.url() === target);
  await b.page.goto(evilUrl);
  const res = await answered;
  assert.equal(res.status(), 403, await res.text());
  assert.match(await res.text(), /cross-site requests are refused/);
  const after1 = await b.page.request.get(`${server.url}/api/v1/instances/${id}`);
  assert.equal((await after1.json()).desiredState, "running", "the instance was not stopped");

  // The same post from Tropic's own origin (a page of the dashboard) goes through.
  await b.page.goto(`${server.url}/`);
  const status = await b.page.evaluate(
    async (url) => (await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "" })).status,
    target,
  );
  assert.equal(status, 202);
  assert.equal((await (await b.page.request.get(`${server.url}/api/v1/instances/${id}`)).json()).desiredState, "stopped");
});
