// Browser tests of the dashboard: Debian's Chromium driven by playwright-core (never a downloaded
// browser), against a real control plane (server/test/instances-harness.ts). Screenshots go to
// test-artifacts/ (CI keeps them; the README links the important ones).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from "../../server/test/instances-harness.ts";

export { ARTIFACTS, CHROMIUM };

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** console errors and failed requests the page produced (a test may assert there are none) */
  problems: string[];
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** A fresh browser profile at the given viewport (default: a laptop; { width: 390, height: 844 } is a phone). */
export async function openBrowser(viewport = { width: 1280, height: 860 }): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    context,
    page,
    problems,
    async shot(name: string) {
      const path = join(ARTIFACTS, `web-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}

/** Signs up through the dashboard's form; resolves on the Agents page. */
export async function signUpInBrowser(page: Page, baseUrl: string, email: string, password = "correct horse battery") {
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${baseUrl}/agents`);
}
