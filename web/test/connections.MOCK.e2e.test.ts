// Settings → Connections → Google in Chromium against a real control plane and a MOCK Google OAuth
// server (the consent page approves at once or denies): Connect Google goes to Google and back to
// Settings, which says Connected (read from the control plane); Disconnect asks first; a denied consent
// is said in words; the Google Sheets skill card says there is nothing to enter and whether Google is
// connected.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { type MockGoogle, startMockGoogle } from "../../marketplace/test/mock-google.ts";
import type { RunningServer } from "../../server/src/server.ts";
import { dashboardServer, freshDataDir, removeDir } from "../../server/test/instances-harness.ts";
import { type BrowserSession, openBrowser, signUpInBrowser } from "./browser.ts";

let server: RunningServer;
let dataDir: string;
let b: BrowserSession;
let g: MockGoogle;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

before(async () => {
  g = await startMockGoogle();
  dataDir = freshDataDir();
  // Google's redirect comes back to the public URL: this server's own address.
  const port = await freePort();
  server = await dashboardServer(dataDir, {
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    google: {
      clientId: g.oauth.clientId,
      clientSecret: g.oauth.clientSecret,
      authUrl: g.oauth.authUrl,
      tokenUrl: g.oauth.tokenUrl,
      revokeUrl: g.oauth.revokeUrl,
    },
  });
  b = await openBrowser();
  await signUpInBrowser(b.page, server.url, "connections@example.com");
});

after(async () => {
  await b?.close();
  await server?.close();
  await g?.close();
  if (dataDir) removeDir(dataDir);
});

test("MOCK Google: connect from Settings, back to Connected; Disconnect asks; a denied consent is said; the Sheets skill card needs no credentials", async () => {
  const { page } = b;
  const inst = await page.request.post(`${server.url}/api/v1/instances`, { data: { name: "home", provider: "local" } });
  assert.equal(inst.status(), 201, await inst.text());

  await page.goto(`${server.url}/settings#connections`);
  const section = page.getByRole("region", { name: "Connections" });
  await section.getByTestId("google-status").getByText("Not connected").waitFor();

  // The Skills drawer before connecting: nothing to enter, Google to connect first.
  await page.goto(`${server.url}/agents`);
  const card = page.getByRole("region", { name: "home", exact: true });
  await card.getByRole("button", { name: "Skills on home" }).click();
  const drawer = page.getByRole("dialog", { name: "Skills on home" });
  const sheets = drawer.locator('[data-skill="google-sheets"]');
  await sheets.getByTestId("google-skill-note").getByText("Google is not connected yet").waitFor();
  assert.match(await sheets.getByTestId("google-skill-note").innerText(), /No credentials to enter/);
  await sheets.getByRole("link", { name: /connect Google in Settings/ }).click();

  // Denied at Google: back in Settings, told so, still not connected.
  g.oauth.deny = true;
  await section.getByRole("button", { name: "Connect Google" }).click();
  await page.waitForURL(/\/settings\?google=denied/);
  await section.getByText("Google access was not granted").waitFor();
  await section.getByTestId("google-status").getByText("Not connected").waitFor();

  // Approved: Connected, as the control plane says.
  g.oauth.deny = false;
  await section.getByRole("button", { name: "Connect Google" }).click();
  await page.waitForURL(/\/settings\?google=connected#connections/);
  await section.getByText("Google is connected.").waitFor();
  await section
    .getByTestId("google-status")
    .getByText(/^Connected/)
    .waitFor();
  const status = await page.request.get(`${server.url}/api/v1/connections/google`);
  assert.equal((await status.json()).connected, true);
  assert.equal(g.oauth.grants.at(-1)?.ok, true);
  assert.equal((await page.content()).includes(g.oauth.refreshTokens.at(-1)!), false, "no token on the page");

  // The skill card now says Google is connected, and installs with nothing to enter.
  await page.goto(`${server.url}/agents`);
  await card.getByRole("button", { name: "Skills on home" }).click();
  await sheets.getByTestId("google-skill-note").getByText("Google is connected.").waitFor();
  await sheets.getByRole("button", { name: "Install Google Sheets" }).click();
  await sheets.getByText("No credentials to enter: it uses your Google connection").waitFor();
  await sheets.getByRole("button", { name: "Confirm install" }).click();
  await sheets.getByRole("button", { name: "Uninstall" }).waitFor();

  // Disconnect asks first, then the section says Not connected.
  await page.goto(`${server.url}/settings#connections`);
  await section.getByRole("button", { name: "Disconnect Google" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Disconnect Google?" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await section
    .getByTestId("google-status")
    .getByText(/^Connected/)
    .waitFor();
  await section.getByRole("button", { name: "Disconnect Google" }).click();
  await dialog.getByRole("button", { name: "Disconnect" }).click();
  await section.getByTestId("google-status").getByText("Not connected").waitFor();
  assert.equal((await (await page.request.get(`${server.url}/api/v1/connections/google`)).json()).connected, false);
  assert.deepEqual(
    b.problems.filter((p) => !/401/.test(p)),
    [],
  );
});
