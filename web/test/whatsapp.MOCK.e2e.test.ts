// Pair WhatsApp from the dashboard, in Chromium, against a real control plane and a real sandboxed
// instance. MOCK: WhatsApp's servers cannot be reached, so the channel plugin is the stand-in
// (server/test/whatsapp-standin/: a new QR every 3 s, "connects" after 3). The dialog shows each new QR
// as the API streams it, then Paired with the number; the card shows it; Unpair asks first.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { destroyAll, freshDataDir, inProcessServer, removeDir, sleep } from "../../server/test/instances-harness.ts";
import { STANDIN } from "../../server/test/whatsapp-harness.ts";
import { ARTIFACTS, CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

test("MOCK WhatsApp in a browser: Pair WhatsApp shows each new QR, then Paired; the card shows the number; Unpair", {
  timeout: 480_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  process.env.TROPIC_WHATSAPP_PLUGIN_DIR = STANDIN;
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  const s = await openBrowser();
  t.after(async () => {
    delete process.env.TROPIC_WHATSAPP_PLUGIN_DIR;
    await s.close().catch(() => {});
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const { page } = s;
  await signUpInBrowser(page, server.url, `wa-web-${Date.now()}@example.com`);
  const created = await page.request.fetch(`${server.url}/api/v1/instances`, { method: "POST", data: { name: "phone" } });
  assert.equal(created.status(), 201, await created.text());
  await page.goto(`${server.url}/agents`);
  const card = page.getByRole("region", { name: "phone", exact: true });
  await card.locator('.spread > .badge[data-state="running"]').waitFor({ timeout: 240_000 });
  await card.getByTestId("wa-state").getByText("Not paired").waitFor({ timeout: 30_000 });

  await card.getByRole("button", { name: "Pair WhatsApp" }).click();
  const dialog = page.getByRole("dialog", { name: "Pair WhatsApp with phone" });
  await dialog.waitFor();
  // Each QR the dialog shows, as it changes (read in the page, so none is missed between polls).
  // (a string: the test's transpiler would wrap named functions in a helper the page does not have)
  await page.evaluate(`(() => {
    const seen = [];
    window.__qrs = seen;
    const note = () => {
      const img = document.querySelector(".wa-qr");
      if (img && img.src && seen[seen.length - 1] !== img.src) seen.push(img.src);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
  })()`);
  const qr = dialog.getByRole("img", { name: "WhatsApp pairing QR code" });
  await qr.waitFor({ timeout: 120_000 });
  // drawn (the dashboard's CSP allows data: images), not a broken image
  await page.waitForFunction('(() => { const i = document.querySelector(".wa-qr"); return !!i && i.complete && i.naturalWidth > 0; })()', undefined, {
    timeout: 30_000,
  });
  await s.shot("whatsapp-qr");
  // the stream's end, whichever it is: a failure names what the dialog said
  const ended = dialog.locator('[data-testid="wa-pair"]:is([data-phase="paired"], [data-phase="expired"], [data-phase="error"])');
  await ended.waitFor({ timeout: 120_000 });
  assert.equal((await ended.innerText()).trim(), "Paired with +15550001234.");
  const qrs = await page.evaluate(() => (window as unknown as { __qrs: string[] }).__qrs);
  assert.ok(qrs.length >= 2, `the dialog showed ${qrs.length} QR(s)`);
  assert.equal(new Set(qrs).size, qrs.length, "each one new");
  for (const q of qrs) assert.match(q, /^data:image\/png;base64,/);
  await page.screenshot({ path: join(ARTIFACTS, "web-whatsapp-paired.png") });
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  await card.getByTestId("wa-state").getByText("Paired: +15550001234").waitFor({ timeout: 60_000 });

  // Unpair asks first; then the gateway says not paired.
  await card.getByRole("button", { name: "Unpair WhatsApp on phone" }).click();
  const confirm = page.getByRole("alertdialog").or(page.getByRole("dialog", { name: "Unpair WhatsApp on phone?" }));
  await confirm.getByRole("button", { name: "Unpair" }).click();
  await card.getByTestId("wa-state").getByText("Not paired").waitFor({ timeout: 60_000 });
});
