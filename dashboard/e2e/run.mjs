// Browser tests of the dashboard against a RUNNING `fednids demo` (started by
// tests/integration/dashboard/test_dashboard_browser.py), with playwright-core driving the
// system Chromium. Env: DASH_URL, OPERATOR_TOKEN, READ_TOKEN, OFFLINE_NODE, SCREENSHOT_DIR,
// CHROMIUM (default /usr/bin/chromium). Prints one JSON line of results; exit 1 on failure.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const URL_ = env("DASH_URL").replace(/\/$/, "");
const OP = env("OPERATOR_TOKEN");
const READ = env("READ_TOKEN");
const OFFLINE_NODE = env("OFFLINE_NODE", "");
const FL_ROUNDS = Number(env("FL_ROUNDS", "0")); // FL events the test put in the demo's store
const SHOTS = env("SCREENSHOT_DIR", "reports/screenshots");
const PAGES = [
  ["overview", "/"],
  ["graph", "/graph"],
  ["detections", "/detections"],
  ["alerts", "/alerts"],
  ["fl", "/fl"],
  ["fleet", "/fleet"],
];
mkdirSync(SHOTS, { recursive: true });

const results = { checks: [], screenshots: [], timings: {} };
const failures = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.checks.push({ name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) });
  } catch (err) {
    failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    results.checks.push({ name, ok: false, ms: Date.now() - t0 });
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function api(token, path, init = {}) {
  const res = await fetch(`${URL_}/api${path}`, { ...init, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

function watchConsole(page, sink) {
  page.on("console", (m) => {
    if (m.type() === "error") sink.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => sink.push(`pageerror: ${e.message}`));
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  watchConsole(page, errors);
  const socketUrls = [];
  page.on("websocket", (ws) => socketUrls.push(ws.url()));

  await check("token from the URL fragment, then removed from the address bar", async () => {
    await page.goto(`${URL_}/#token=${encodeURIComponent(OP)}`);
    await page.waitForSelector('[data-testid="page-overview"]');
    expect(!page.url().includes("token="), `token still in the URL: ${page.url()}`);
  });

  await check("live events appear within seconds", async () => {
    const t0 = Date.now();
    await page.waitForSelector('[data-testid="live-state"]:has-text("live")', { timeout: 10000 });
    await page.waitForSelector('[data-testid="live-event"]', { timeout: 15000 });
    results.timings.first_live_event_ms = Date.now() - t0;
    // the token rides in Sec-WebSocket-Protocol, never in the socket's URL (access logs)
    expect(socketUrls.length > 0, "no WebSocket opened");
    expect(!socketUrls.some((u) => u.includes(OP) || u.includes("token=")), `token in a WebSocket URL: ${socketUrls}`);
    const before = await page.locator('[data-testid="live-feed"] h2').textContent();
    await page.waitForFunction(
      (b) => document.querySelector('[data-testid="live-feed"] h2')?.textContent !== b,
      before,
      { timeout: 10000 },
    );
    return { first_live_event_ms: results.timings.first_live_event_ms };
  });

  let fleet = null;
  if (OFFLINE_NODE) {
    await check(`the fleet page shows ${OFFLINE_NODE} online at first`, async () => {
      const fctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const fpage = await fctx.newPage();
      const ferr = [];
      watchConsole(fpage, ferr);
      fleet = { fctx, fpage, ferr };
      await fpage.goto(`${URL_}/fleet#token=${encodeURIComponent(OP)}`);
      await fpage.waitForSelector(`[data-testid="node-${OFFLINE_NODE}"][data-online="true"]`, { timeout: 15000 });
    });
  }

  for (const [name, path] of PAGES) {
    await check(`page ${name} renders without console errors`, async () => {
      const n = errors.length;
      await page.click(`nav a[href="${path}"]`);
      await page.waitForSelector(`[data-testid="page-${name}"]`);
      expect((await page.locator('[data-testid="sign-out"]').count()) === 1, "not signed in");
      await page.waitForLoadState("networkidle", { timeout: 5000 }).catch(() => undefined);
      await page.waitForTimeout(1200);
      const file = join(SHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      results.screenshots.push(file);
      expect(errors.length === n, errors.slice(n).join(" | "));
      const boxes = await page.locator(".error").allTextContents();
      expect(boxes.length === 0, `error box: ${boxes.join(" | ")}`);
    });
  }

  await check("page reload on a deep link keeps the session token", async () => {
    await page.goto(`${URL_}/fleet`);
    await page.waitForSelector('[data-testid="fleet-table"]', { timeout: 10000 });
  });

  if (FL_ROUNDS > 0) {
    await check("the FL page shows rounds, the loss curve and each node's budget", async () => {
      await page.click('nav a[href="/fl"]');
      await page.waitForSelector('[data-testid="fl-rounds"] tbody tr', { timeout: 20000 });
      const rows = await page.locator('[data-testid="fl-rounds"] tbody tr').count();
      expect(rows === FL_ROUNDS, `${rows} round rows, expected ${FL_ROUNDS}`);
      expect((await page.locator('[data-testid="fl-budget"]').count()) > 0, "no privacy budget rows");
      expect((await page.locator('svg[aria-label="federated loss per round"] circle').count()) === FL_ROUNDS, "loss curve points");
      const file = join(SHOTS, "fl-rounds.png");
      await page.screenshot({ path: file, fullPage: true });
      results.screenshots.push(file);
    });
  }

  let target = null;
  await check("an operator token acknowledges an alert", async () => {
    await page.goto(`${URL_}/alerts`);
    const row = page.locator('[data-testid="alert-row"][data-status="open"]').first();
    await row.waitFor({ timeout: 45000 });
    target = await row.getAttribute("data-alert-id");
    await row.locator('[data-testid="ack"]').click();
    await page.locator('[data-testid="alert-status"]').selectOption("acknowledged");
    await page.waitForSelector(`[data-testid="alert-row"][data-alert-id="${target}"][data-status="acknowledged"]`, { timeout: 10000 });
    const stored = await api(OP, `/alerts?status=acknowledged&limit=500`);
    expect(stored.body.items.some((a) => a.alert_id === target), "the API does not list it as acknowledged");
    return { alert_id: target };
  });

  await check("an operator token resolves it", async () => {
    const row = page.locator(`[data-testid="alert-row"][data-alert-id="${target}"]`);
    await row.locator('[data-testid="resolve"]').click();
    await page.locator('[data-testid="alert-status"]').selectOption("resolved");
    await page.waitForSelector(`[data-testid="alert-row"][data-alert-id="${target}"][data-status="resolved"]`, { timeout: 10000 });
  });
  await ctx.close();

  await check("a read-only token cannot acknowledge", async () => {
    const rctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const rpage = await rctx.newPage();
    await rpage.goto(`${URL_}/alerts#token=${encodeURIComponent(READ)}`);
    const row = rpage.locator('[data-testid="alert-row"][data-status="open"]').first();
    await row.waitFor({ timeout: 30000 });
    const id = await row.getAttribute("data-alert-id");
    await row.locator('[data-testid="ack"]').click();
    const msg = await rpage.locator('[data-testid="alert-error"]').textContent({ timeout: 10000 });
    expect(/403/.test(msg ?? ""), `expected a 403 message, got ${msg}`);
    const file = join(SHOTS, "alerts-read-only-denied.png");
    await rpage.screenshot({ path: file, fullPage: true });
    results.screenshots.push(file);
    const still = await api(OP, `/alerts?status=open&limit=500`);
    expect(still.body.items.some((a) => a.alert_id === id), "the alert changed state with a read token");
    await rctx.close();
  });

  if (fleet) {
    await check(`the fleet page shows ${OFFLINE_NODE} going offline`, async () => {
      const { fctx, fpage, ferr } = fleet;
      await fpage.waitForSelector(`[data-testid="node-${OFFLINE_NODE}"][data-online="false"]`, { timeout: 90000 });
      const file = join(SHOTS, "fleet-offline.png");
      await fpage.screenshot({ path: file, fullPage: true });
      results.screenshots.push(file);
      // later in the scenario (attacks under way): the overview and the graph again
      for (const [name, path] of [["overview-late", "/"], ["graph-late", "/graph"]]) {
        await fpage.click(`nav a[href="${path}"]`);
        await fpage.waitForTimeout(2500);
        const late = join(SHOTS, `${name}.png`);
        await fpage.screenshot({ path: late, fullPage: true });
        results.screenshots.push(late);
      }
      expect(ferr.length === 0, ferr.join(" | "));
      await fctx.close();
    });
  }

  await check("pages are usable at tablet size (no sideways page scroll)", async () => {
    const tctx = await browser.newContext({ viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true });
    const tpage = await tctx.newPage();
    await tpage.goto(`${URL_}/#token=${encodeURIComponent(OP)}`);
    await tpage.waitForSelector('[data-testid="counters"]');
    const wide = [];
    for (const [name, path] of [["overview", "/"], ["alerts", "/alerts"], ["fleet", "/fleet"], ["graph", "/graph"]]) {
      await tpage.click(`nav a[href="${path}"]`);
      await tpage.waitForSelector(`[data-testid="page-${name}"]`);
      await tpage.waitForTimeout(1500);
      const overflow = await tpage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 1) wide.push(`${name} by ${overflow}px`);
      const file = join(SHOTS, `${name}-tablet.png`);
      await tpage.screenshot({ path: file, fullPage: true });
      results.screenshots.push(file);
    }
    expect(wide.length === 0, `scrolls sideways at 820px: ${wide.join(", ")}`);
    await tctx.close();
  });
} finally {
  await browser.close();
}

results.ok = failures.length === 0;
results.failures = failures;
console.log(JSON.stringify(results));
process.exit(failures.length ? 1 : 0);
