// The live feed survives a hub restart: driven by tests/integration/dashboard/
// test_dashboard_browser.py over stdin/stdout. Prints LIVE once events flow, DOWN once the
// page shows it lost the socket; then waits for "UP" on stdin (the test restarted the demo on
// the same port and state) and checks the page reconnects by itself and events flow again.
// Env: DASH_URL, OPERATOR_TOKEN, CHROMIUM.
import { createInterface } from "node:readline";
import { dashUrl, env, launch, withToken } from "./lib.mjs";

const URL_ = dashUrl();
const TOKEN = env("OPERATOR_TOKEN");
const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const feedTitle = '[data-testid="live-feed"] h2';

const browser = await launch();
let code = 1;
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(withToken(URL_, TOKEN));
  await page.waitForSelector('[data-testid="live-state"]:has-text("live")', { timeout: 15000 });
  await page.waitForSelector('[data-testid="live-event"]', { timeout: 15000 });
  console.log("LIVE");
  await page.waitForSelector('[data-testid="live-state"]:not(:has-text("live"))', { timeout: 30000 });
  const state = await page.locator('[data-testid="live-state"]').textContent();
  console.log(`DOWN ${state}`);
  await nextLine();
  const before = await page.locator(feedTitle).textContent();
  const t0 = Date.now();
  await page.waitForSelector('[data-testid="live-state"]:has-text("live")', { timeout: 40000 });
  const reconnectMs = Date.now() - t0;
  await page.waitForFunction((b) => document.querySelector('[data-testid="live-feed"] h2')?.textContent !== b, before, {
    timeout: 20000,
  });
  console.log(JSON.stringify({ ok: true, state_while_down: state, reconnect_after_up_ms: reconnectMs }));
  code = 0;
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
} finally {
  lines.close();
  await browser.close();
}
process.exit(code);
