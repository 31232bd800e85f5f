// The operator console (/console) in headless Chromium, driven step by step by
// tests/e2e/test_console_browser.py, which runs nginx-rtmp and ffmpeg in between.
//   node console.mjs <npm prefix> <console URL> <screenshot dir>
// Reads one JSON command a line on stdin ({"do": "<step>", ...}), answers one JSON line each
// ({"ok": true, ...} or {"ok": false, "error": "..."}); {"do": "close"} ends it. Every request
// the page makes is watched: any to another origin (a CDN), and any URL holding the signed-in
// credential, is reported by "close", with the page's console errors.
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [prefix, consoleUrl, shots] = process.argv.slice(2);
const require = createRequire(join(prefix, "package.json"));
const { chromium } = require("playwright-core");
const origin = new URL(consoleUrl).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const foreign = [];
const urls = [];
const consoleErrors = [];
const dialogs = [];
page.on("request", (request) => {
  const url = request.url();
  urls.push(url);
  if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
});
page.on("console", (message) => {
  if (message.type() === "error") consoleErrors.push(message.text());
});
page.on("dialog", (dialog) => {
  dialogs.push(dialog.message());
  dialog.accept();
});
let secrets = []; // credentials signed in with: no URL may hold one

const view = page.locator("#view");
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const text = (locator) => locator.innerText();
const row = (containing) => view.locator("tbody tr", { hasText: containing });

async function goTo(name) {
  await page.click(`#nav a[href="#${name}"]`);
  await view.locator(`.view-${name}[data-ready]`).waitFor(); // drawn, its first answers in
}

const steps = {
  // Loads the page cold; first render and bytes from the Performance API (same origin, so
  // transferSize is known): the page, its style sheet and modules (the QR encoder is loaded
  // only when a secret is shown).
  async open() {
    const measure = async () => {
      await page.goto(consoleUrl, { waitUntil: "load" });
      await page.locator("#sign-in-form").waitFor();
      await page.waitForTimeout(200);
      return page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const resources = performance.getEntriesByType("resource");
        const paint = performance.getEntriesByType("paint").find((p) => p.name === "first-contentful-paint");
        return {
          firstContentfulPaintMs: paint ? Math.round(paint.startTime) : null,
          domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
          loadMs: Math.round(nav.loadEventEnd),
          bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
          decodedBytes: nav.decodedBodySize + resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
          files: [nav.name, ...resources.map((r) => r.name)].map((u) => new URL(u).pathname),
        };
      });
    };
    // The first load in this browser (the local API starts ConsoleFunction's worker if no test
    // before did: Lambda's cold start); then three more, the median (Cache-Control: no-cache,
    // no validator: each load transfers every file again).
    const first = await measure();
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push(await measure());
    warm.sort((a, b) => a.firstContentfulPaintMs - b.firstContentfulPaintMs);
    await shot("01-sign-in");
    return { first, warm: warm[1] };
  },

  // Labels, names and focus: every control has a label, every button a name, and Tab from
  // the top reaches the skip link, then the credential field, then the submit button.
  async a11y() {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, textarea")]
        .filter((c) => c.offsetParent !== null)
        .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label"))
        .map((c) => c.outerHTML.slice(0, 80)),
    );
    const nameless = await page.evaluate(() =>
      [...document.querySelectorAll("button, a[href]")]
        .filter((c) => c.offsetParent !== null)
        .filter((c) => !(c.getAttribute("aria-label") || c.textContent.trim()))
        .map((c) => c.outerHTML.slice(0, 80)),
    );
    // WCAG AA contrast of every visible text against the background it is drawn on: 4.5:1,
    // 3:1 for large text (24 px, or 18.66 px bold).
    const lowContrast = await page.evaluate(() => {
      const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      const luminance = ([r, g, b]) =>
        [r, g, b]
          .map((v) => v / 255)
          .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
      const background = (node) => {
        for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
          const c = rgba(getComputedStyle(n).backgroundColor);
          if (c.length === 3 || c[3] > 0) return c;
        }
        return [255, 255, 255];
      };
      const low = [];
      for (const node of document.querySelectorAll("body *")) {
        if (node.offsetParent === null || ![...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim())) continue;
        const style = getComputedStyle(node);
        const [a, b] = [luminance(rgba(style.color)), luminance(background(node))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) low.push(`${node.tagName} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
      }
      return low;
    });
    return { unlabelled, nameless, lowContrast };
  },

  async tabOrder({ count }) {
    await page.reload({ waitUntil: "load" }); // from the top of the page, as a person arriving
    await page.locator("#sign-in-form").waitFor();
    const order = [];
    for (let i = 0; i < count; i++) {
      await page.keyboard.press("Tab");
      order.push(
        await page.evaluate(() => {
          const a = document.activeElement;
          const outline = getComputedStyle(a).outlineStyle;
          return { tag: a.tagName.toLowerCase(), id: a.id, text: (a.textContent || "").trim().slice(0, 40), outline };
        }),
      );
    }
    return { order };
  },

  async signIn({ credential, expectError }) {
    secrets.push(credential);
    await page.fill("#credential", credential);
    await page.click("#sign-in-form button[type=submit]");
    if (expectError) {
      await page.locator("#sign-in-error:not(:empty)").waitFor();
      return { error: await text(page.locator("#sign-in-error")), storedAfter: await page.evaluate(() => sessionStorage.length) };
    }
    await page.locator("#who:not([hidden])").waitFor();
    return { who: await text(page.locator("#who")) };
  },

  async signOut() {
    await page.click("#sign-out");
    await page.locator("#sign-in:not([hidden])").waitFor();
    return { stored: await page.evaluate(() => Object.keys(sessionStorage)) };
  },

  async stream({ id }) {
    await page.click('#nav a[href="#stream"]');
    await page.fill("#stream-id", id);
    await page.click("#stream-form button[type=submit]");
    await view.locator("h2", { hasText: id }).waitFor();
    return {};
  },

  async view({ name, screenshot }) {
    await goTo(name);
    if (screenshot) await shot(screenshot);
    return { heading: await text(view.locator("h2")), body: await text(view) };
  },

  async createSubscriber({ id, screenshot }) {
    await goTo("subscribers");
    await view.getByLabel("Subscriber id").fill(id);
    await view.getByLabel("Type").selectOption("publish");
    await view.getByRole("button", { name: "Create subscriber" }).click();
    const once = view.locator(".once");
    await once.waitFor();
    await row(id).waitFor();
    const secret = await text(once.locator(".secret").nth(0));
    const uri = await text(once.locator(".secret").nth(1));
    // The QR drawn is exactly `uri`'s: the page's own encoder, run again on the text shown.
    const qrMatches = await page.evaluate(async (shown) => {
      const { encode } = await import(new URL("console/uqr.mjs", location.href).href);
      const { data, size } = encode(shown, { ecc: "M", border: 0 });
      let d = "";
      data.forEach((r, y) => r.forEach((dark, x) => { if (dark) d += `M${x + 4},${y + 4}h1v1h-1z`; }));
      const svg = document.querySelector(".once .qr svg");
      return !!svg && svg.querySelector("path").getAttribute("d") === d && size >= 21;
    }, uri);
    // And read back as a phone would: the drawn SVG rasterised in the page, then decoded by
    // another library (npm `qr`, pinned by `make browser`) where installed.
    const pixels = await page.evaluate(async () => {
      const svg = document.querySelector(".once .qr svg");
      const image = new Image();
      image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 400;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0, 400, 400);
      return Array.from(context.getImageData(0, 0, 400, 400).data);
    });
    let decoded = null;
    try {
      const { default: decodeQR } = await import(require.resolve("qr/decode.js"));
      decoded = decodeQR({ width: 400, height: 400, data: new Uint8ClampedArray(pixels) });
    } catch (error) {
      if (!/Cannot find module/.test(String(error))) decoded = `decode failed: ${error}`;
    }
    const focused = await page.evaluate(() => document.activeElement.classList.contains("once"));
    if (screenshot) await shot(screenshot);
    await once.getByRole("button", { name: /saved it/ }).click();
    const gone = (await view.locator(".once").count()) === 0 && !(await text(view)).includes(secret);
    return { secret, uri, qrMatches, decoded, focused, goneAfterDone: gone };
  },

  async currentCode({ id }) {
    await goTo("subscribers");
    await row(id).getByRole("button", { name: `Current code of ${id}` }).click();
    const cell = row(id).locator("td.code");
    await page.waitForFunction((el) => /^\d{6}$/.test(el.textContent.trim()), await cell.elementHandle());
    return { code: (await text(cell)).trim() };
  },

  // (Already on the sessions view, goTo draws nothing anew: only its auto-refresh can change it.)
  async waitSession({ containing, present, screenshot, timeoutMs = 20000 }) {
    await goTo("sessions");
    const target = row(containing);
    if (present) await target.first().waitFor({ timeout: timeoutMs });
    else await target.first().waitFor({ state: "detached", timeout: timeoutMs });
    if (screenshot) await shot(screenshot);
    return { rows: await view.locator("tbody tr").count(), body: await text(view) };
  },

  // The decisions about the first live session (its row's button): the answer, as shown.
  async sessionDecisions() {
    await goTo("sessions");
    await view.locator("tbody tr").first().getByRole("button", { name: /^Decisions about session/ }).click();
    const heading = view.locator("h3", { hasText: "Decisions about" });
    await heading.waitFor();
    return { heading: await text(heading), errors: await view.locator("p.error").count() };
  },

  async block({ id, screenshot }) {
    await goTo("subscribers");
    await row(id).getByRole("button", { name: `Block ${id}`, exact: true }).click();
    await view.locator("p.ok", { hasText: "is blocked" }).waitFor();
    await row(id).locator("td", { hasText: "until" }).waitFor();
    if (screenshot) await shot(screenshot);
    return { status: await text(view.locator("p.ok", { hasText: "is blocked" })) };
  },

  // Blocking, as a person whose credential lacks subscribers:write: the API's 403, as text.
  async blockRefused({ id }) {
    await goTo("subscribers");
    await row(id).getByRole("button", { name: `Block ${id}`, exact: true }).click();
    const alert = view.locator("p.error[role=alert]");
    await alert.waitFor();
    return { alert: await text(alert) };
  },

  async decisions({ subscriberId, reason, screenshot, timeoutMs = 20000 }) {
    await goTo("decisions");
    await view.getByLabel("Subscriber id").fill(subscriberId || "");
    await view.getByLabel("Reason").fill(reason || "");
    const deadline = Date.now() + timeoutMs;
    let body = "";
    for (;;) {
      const searches = Number((await view.locator(".view-decisions").getAttribute("data-searches")) || 0);
      await view.getByRole("button", { name: "Search" }).click();
      await page.waitForFunction((n) => Number(document.querySelector(".view-decisions").dataset.searches) > n, searches);
      body = await text(view);
      const missing = (await view.locator("p.error").count()) > 0;
      const found = reason ? (await view.locator("tbody tr.refused", { hasText: reason }).count()) > 0 : (await view.locator("tbody tr").count()) > 0;
      if (found || missing || Date.now() > deadline) {
        if (screenshot) await shot(screenshot);
        return { found, missing, body };
      }
      await page.waitForTimeout(500);
    }
  },

  async revoke({ screenshot }) {
    await goTo("stream");
    await view.getByRole("button", { name: "Revoke all tokens" }).click();
    await view.locator("p.ok", { hasText: "revoked" }).waitFor();
    if (screenshot) await shot(screenshot);
    return { dialogs };
  },

  async openClose() {
    await goTo("stream");
    // the summary's "Open to public viewers" (GET …/public-viewers), read again after each change
    const shown = view.locator("dl.summary dt", { hasText: "Open to public viewers" }).locator("xpath=following-sibling::dd[1]");
    await shown.waitFor();
    const before = await text(shown);
    await view.getByRole("button", { name: "Open to public viewers" }).click();
    await view.locator("p.ok", { hasText: "is open" }).waitFor();
    await view.locator("dl.summary dd", { hasText: /^yes/ }).waitFor();
    const opened = await text(view.locator("p.ok", { hasText: "is open" }));
    const shownOpen = await text(shown);
    await view.getByRole("button", { name: "Close to public viewers" }).click();
    await view.locator("p.ok", { hasText: "is closed" }).waitFor();
    await view.locator("dl.summary dd", { hasText: /^no/ }).waitFor();
    const closed = await text(view.locator("p.ok", { hasText: "is closed" }));
    return { before, opened, shownOpen, closed, shownClosed: await text(shown) };
  },

  async issueTokens({ kinds, type, screenshot }) {
    await goTo("tokens");
    const issued = [];
    for (const kind of kinds) {
      await view.getByLabel("Kind").selectOption(kind);
      await view.getByLabel("Type").selectOption(type);
      await view.getByRole("button", { name: "Issue token" }).click();
      await view.locator("p.ok", { hasText: `Issued a ${type}` }).waitFor(); // after its list
      issued.push(await text(view.locator(".secret").first()));
      await view.locator("p.ok").evaluate((p) => p.remove()); // the next one's notice, not this one's
    }
    if (screenshot) await shot(screenshot);
    const listed = await view.locator("tbody tr").allInnerTexts();
    return { issued, listed };
  },

  async createAccount({ name, scopes, screenshot }) {
    await goTo("accounts");
    await view.getByLabel("Name").fill(name);
    for (const scope of scopes) await view.getByLabel(scope, { exact: true }).check();
    await view.getByRole("button", { name: "Create account" }).click();
    const once = view.locator(".once");
    await once.waitFor();
    await row(name).waitFor();
    const key = await text(once.locator(".secret"));
    if (screenshot) await shot(screenshot);
    await once.getByRole("button", { name: /saved it/ }).click();
    const gone = (await view.locator(".once").count()) === 0 && !(await text(view)).includes(key);
    return { key, goneAfterDone: gone, listed: await text(row(name)) };
  },

  // The new key shown once: gone from the page when the operator says it is saved.
  async rotateAccount({ name, screenshot }) {
    await goTo("accounts");
    await row(name).getByRole("button", { name: `Rotate the key of ${name}` }).click();
    const once = view.locator(".once");
    await once.waitFor();
    const key = await text(once.locator(".secret"));
    const news = await text(view.locator("p.ok", { hasText: "has a new key" }));
    if (screenshot) await shot(screenshot);
    await once.getByRole("button", { name: /saved it/ }).click();
    const gone = (await view.locator(".once").count()) === 0 && !(await text(view)).includes(key);
    return { key, news, goneAfterDone: gone, dialogs };
  },

  async deleteAccount({ name, screenshot }) {
    await goTo("accounts");
    await row(name).getByRole("button", { name: `Delete ${name}` }).click();
    await view.locator("p.ok", { hasText: "is deleted" }).waitFor();
    await row(name).waitFor({ state: "detached" });
    if (screenshot) await shot(screenshot);
    return { dialogs, body: await text(view) };
  },

  // The stream's access policy typed as JSON and saved; the page then shows it as stored.
  async savePolicy({ policy, screenshot }) {
    await goTo("stream");
    const box = view.getByLabel(/^Policy \(JSON/);
    await box.fill(policy);
    await view.locator("p.ok, p.error").evaluateAll((ps) => ps.forEach((p) => p.remove())); // this save's news only
    await view.getByRole("button", { name: "Save policy" }).click();
    const news = view.locator("p.ok, p.error"); // (the others were removed before the click)
    await news.first().waitFor();
    if (!(await view.locator("p.error").count())) await view.locator("p.hint", { hasText: "As stored for" }).waitFor();
    if (screenshot) await shot(screenshot);
    return { news: await text(news.first()), error: (await view.locator("p.error").count()) > 0, shown: await box.inputValue() };
  },

  async removePolicy({ screenshot }) {
    await goTo("stream");
    await view.getByRole("button", { name: "Remove policy" }).click();
    await view.locator("p.ok", { hasText: "access policy is removed" }).waitFor();
    await view.locator("p.hint", { hasText: "has no access policy" }).waitFor();
    if (screenshot) await shot(screenshot);
    return { dialogs, shown: await view.getByLabel(/^Policy \(JSON/).inputValue() };
  },

  // A list's next page ("Next 50 tokens", "Older decisions"): the rows before and after, and
  // what the page says under the list once there is nothing more.
  async nextPage({ name, button, screenshot }) {
    if (name === "decisions") {
      await goTo("decisions");
      await view.getByLabel("Subscriber id").fill("");
      await view.getByLabel("Reason").fill("");
      const searches = Number((await view.locator(".view-decisions").getAttribute("data-searches")) || 0);
      await view.getByRole("button", { name: "Search" }).click();
      await page.waitForFunction((n) => Number(document.querySelector(".view-decisions").dataset.searches) > n, searches);
    } else {
      await goTo("keys"); // away and back: drawn anew, with what the API holds now
      await goTo(name);
    }
    const before = await view.locator("tbody tr").count();
    await view.getByRole("button", { name: button }).click();
    await page.waitForFunction((n) => document.querySelectorAll("#view tbody tr").length > n, before);
    const after = await view.locator("tbody tr").count();
    const rows = await view.locator("tbody tr").allInnerTexts();
    if (screenshot) await shot(screenshot);
    const stillMore = (await view.getByRole("button", { name: button }).count()) > 0;
    return { before, after, rows, stillMore, body: await text(view) };
  },

  async unblock({ id, screenshot }) {
    await goTo("subscribers");
    await row(id).getByRole("button", { name: `Unblock ${id}`, exact: true }).click();
    await view.locator("p.ok", { hasText: "is unblocked" }).waitFor();
    await page.waitForFunction(
      (sid) => [...document.querySelectorAll("#view tbody tr")].some((r) => r.innerText.includes(sid) && r.cells[2].innerText === "no"),
      id,
    );
    if (screenshot) await shot(screenshot);
    return { status: await text(view.locator("p.ok", { hasText: "is unblocked" })), row: await text(row(id)) };
  },

  async deleteSubscriber({ id, screenshot }) {
    await goTo("subscribers");
    await row(id).getByRole("button", { name: `Delete ${id}`, exact: true }).click();
    await view.locator("p.ok", { hasText: `${id} is deleted` }).waitFor();
    await row(id).waitFor({ state: "detached" });
    if (screenshot) await shot(screenshot);
    return { dialogs, body: await text(view) };
  },

  // End the live session whose row shows `containing`. With `pause`, the auto-refresh is paused
  // first (the row stays as drawn: the test may end the session elsewhere before the click).
  async pauseSessions({ paused }) {
    await goTo("sessions");
    const box = view.getByLabel("Pause auto-refresh");
    if ((await box.isChecked()) !== paused) await box.click();
    return {};
  },

  async endSession({ containing, expectError, screenshot }) {
    await goTo("sessions");
    await row(containing).first().getByRole("button", { name: /^End session / }).click();
    if (expectError) {
      const alert = view.locator("p.error[role=alert]");
      await alert.waitFor();
      if (screenshot) await shot(screenshot);
      return { alert: await text(alert) };
    }
    await view.locator("p.ok", { hasText: "The session is ended" }).waitFor();
    await row(containing).first().waitFor({ state: "detached" });
    if (screenshot) await shot(screenshot);
    return { rows: await view.locator("tbody tr").count(), body: await text(view) };
  },

  // The signing-keys view as a deployed stack shows it: the API's own answer, with the
  // schedule Secrets Manager would give (the local API schedules no rotation).
  async keysScheduled({ nextRotationAt, rotationDays, screenshot }) {
    const pattern = "**/api/v1/signing-keys";
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), nextRotationAt, rotationDays } });
    });
    try {
      await goTo("accounts"); // away and back: drawn anew
      await goTo("keys");
      if (screenshot) await shot(screenshot);
      return { body: await text(view) };
    } finally {
      await page.unroute(pattern);
    }
  },

  async close() {
    const leaked = urls.filter((u) => secrets.some((s) => s && u.includes(s)));
    return { foreign, leaked, consoleErrors, requests: urls.length };
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  let answer;
  try {
    answer = { ok: true, ...(await steps[command.do](command)) };
  } catch (error) {
    await shot(`failed-${command.do}`).catch(() => {});
    answer = { ok: false, error: String(error && error.stack ? error.stack : error).slice(0, 3000) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  if (command.do === "close") break;
}
lines.close();
await browser.close();
process.exit(0);
