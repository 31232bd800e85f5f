// The local API's /docs (Swagger UI) in headless Chromium, as a person would use it.
//   node docs.mjs <npm prefix> <docs URL> <operator JWT> <screenshot.png>
// (<npm prefix>: where `make browser` installed playwright-core)
// Loads the page, lists the operations it renders (method and path), then: Authorize with the
// operator JWT (bearer), open "A one-time stream token" (issueToken), Try it out with the
// parameters' examples, Execute; screenshots the answered operation. Prints one JSON line:
// the operations, the reply's status and body, every URL the page requested that is not on
// the API's own origin (a CDN would show here), and the page's console errors.
import { createRequire } from "node:module";
import { join } from "node:path";

const [prefix, docsUrl, token, screenshot] = process.argv.slice(2);
const require = createRequire(join(prefix, "package.json"));
const { chromium } = require("playwright-core");
const origin = new URL(docsUrl).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const foreign = [];
  const consoleErrors = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(docsUrl);
  await page.waitForSelector(".opblock", { timeout: 30000 });
  const operations = await page.$$eval(".opblock", (blocks) =>
    blocks.map((block) => ({
      method: block.querySelector(".opblock-summary-method")?.textContent?.trim(),
      path: block.querySelector(".opblock-summary-path")?.getAttribute("data-path"),
    })),
  );

  // Authorize: the bearer scheme's field in the Authorize dialog.
  await page.click("button.authorize");
  const bearer = page.locator(".auth-container", { hasText: "bearer" }).first();
  await bearer.locator("input").first().fill(token);
  await bearer.locator("button.authorize").click();
  await page.click("button.btn-done");

  // issueToken: Try it out with the examples the served spec gives, then Execute.
  const operation = page.locator("#operations-tokens-issueToken");
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 30000 });
  const body = await operation.locator(".live-responses-table .response-col_description pre").first().textContent();
  await operation.scrollIntoViewIfNeeded();
  await operation.locator(".opblock-summary").first().evaluate((el) => el.scrollIntoView());
  await page.screenshot({ path: screenshot });
  console.log(
    JSON.stringify({
      operations,
      status: Number((await status.textContent()).trim()),
      body,
      foreign,
      consoleErrors,
    }),
  );
} finally {
  await browser.close();
}
