// hls.js playing a protected HLS stream in headless Chromium, as a viewer's browser would.
//   node play.mjs <npm prefix> <origin> <playlist URL path, with its ?token=> <screenshot.png> [seconds]
// (<npm prefix>: where `make browser` installed hls.js and playwright-core)
// The page and hls.js are served by Playwright at <origin>/player/ (same origin as the HLS, as
// an operator's site would be; no nginx change), so the playback cookie streamauth sets on the
// playlist goes with every segment request. Prints one JSON line: fragments loaded, seconds
// played, errors (hls.js details with HTTP status), the cookies the browser holds (names only).
import { createRequire } from "node:module";
import { join } from "node:path";

const [prefix, origin, playlist, screenshot, seconds = "20"] = process.argv.slice(2);
const require = createRequire(join(prefix, "package.json"));
const { chromium } = require("playwright-core");
const hlsPath = require.resolve("hls.js/dist/hls.min.js");

const page_html = `<!doctype html><html><head><meta charset="utf-8"><title>player</title></head><body>
<video id="video" muted autoplay playsinline width="640" height="360"></video>
<script src="/player/hls.min.js"></script>
<script>
  window.result = { fragments: 0, errors: [], supported: Hls.isSupported() };
  const video = document.getElementById("video");
  const hls = new Hls({ liveSyncDurationCount: 2 });
  hls.on(Hls.Events.FRAG_LOADED, () => { window.result.fragments += 1; });
  hls.on(Hls.Events.ERROR, (_, data) => {
    window.result.errors.push(data.details + (data.response ? ":" + data.response.code : ""));
  });
  hls.loadSource(${JSON.stringify(playlist)});
  hls.attachMedia(video);
  video.play().catch(() => {});
</script></body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${origin}/player/`, (route) => route.fulfill({ contentType: "text/html", body: page_html }));
  await page.route(`${origin}/player/hls.min.js`, (route) =>
    route.fulfill({ contentType: "application/javascript", path: hlsPath }),
  );
  await page.goto(`${origin}/player/`);
  const deadline = Date.now() + Number(seconds) * 1000;
  let state = {};
  while (Date.now() < deadline) {
    state = await page.evaluate(() => ({
      ...window.result,
      played: document.getElementById("video").currentTime,
    }));
    if ((state.fragments >= 3 && state.played >= 2) || state.errors.some((e) => e.includes("403"))) break;
    await page.waitForTimeout(250);
  }
  await page.screenshot({ path: screenshot });
  const cookies = (await context.cookies()).map((cookie) => cookie.name);
  console.log(JSON.stringify({ ...state, cookies }));
} finally {
  await browser.close();
}
