// Browser tests of the dashboard against a RUNNING `fednids demo` (started by
// tests/integration/dashboard/test_dashboard_browser.py), with playwright-core driving the
// system Chromium. Env: DASH_URL, OPERATOR_TOKEN, READ_TOKEN, OFFLINE_NODE, SCREENSHOT_DIR,
// CHROMIUM (default /usr/bin/chromium). Prints one JSON line of results; exit 1 on failure.
import { apiClient, dashUrl, env, expect, launch, newPage, suite, withToken } from "./lib.mjs";

const URL_ = dashUrl();
const OP = env("OPERATOR_TOKEN");
const READ = env("READ_TOKEN");
const OFFLINE_NODE = env("OFFLINE_NODE", "");
const FL_ROUNDS = Number(env("FL_ROUNDS", "0")); // FL events the test put in the demo's store
const PAGES = [
  ["overview", "/"],
  ["graph", "/graph"],
  ["detections", "/detections"],
  ["alerts", "/alerts"],
  ["fl", "/fl"],
  ["fleet", "/fleet"],
];
const { results, check, shot, finish } = suite({ timings: {} });
const api = apiClient(URL_);

const browser = await launch();
try {
  const errors = [];
  const { ctx, page } = await newPage(browser, errors);
  const socketUrls = [];
  page.on("websocket", (ws) => socketUrls.push(ws.url()));

  await check("token from the URL fragment, then removed from the address bar", async () => {
    await page.goto(withToken(URL_, OP));
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
      const ferr = [];
      const { ctx: fctx, page: fpage } = await newPage(browser, ferr);
      fleet = { fctx, fpage, ferr };
      await fpage.goto(withToken(URL_, OP, "/fleet"));
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
      await shot(page, name);
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
      await shot(page, "fl-rounds");
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
    const { ctx: rctx, page: rpage } = await newPage(browser);
    await rpage.goto(withToken(URL_, READ, "/alerts"));
    const row = rpage.locator('[data-testid="alert-row"][data-status="open"]').first();
    await row.waitFor({ timeout: 30000 });
    const id = await row.getAttribute("data-alert-id");
    await row.locator('[data-testid="ack"]').click();
    const msg = await rpage.locator('[data-testid="alert-error"]').textContent({ timeout: 10000 });
    expect(/403/.test(msg ?? ""), `expected a 403 message, got ${msg}`);
    await shot(rpage, "alerts-read-only-denied");
    const still = await api(OP, `/alerts?status=open&limit=500`);
    expect(still.body.items.some((a) => a.alert_id === id), "the alert changed state with a read token");
    await rctx.close();
  });

  if (fleet) {
    await check(`the fleet page shows ${OFFLINE_NODE} going offline`, async () => {
      const { fctx, fpage, ferr } = fleet;
      await fpage.waitForSelector(`[data-testid="node-${OFFLINE_NODE}"][data-online="false"]`, { timeout: 90000 });
      await shot(fpage, "fleet-offline");
      // later in the scenario (attacks under way): the overview and the graph again
      for (const [name, path] of [["overview-late", "/"], ["graph-late", "/graph"]]) {
        await fpage.click(`nav a[href="${path}"]`);
        await fpage.waitForTimeout(2500);
        await shot(fpage, name);
      }
      expect(ferr.length === 0, ferr.join(" | "));
      await fctx.close();
    });
  }

  await check("pages are usable at tablet size (no sideways page scroll)", async () => {
    const tctx = await browser.newContext({ viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true });
    const tpage = await tctx.newPage();
    await tpage.goto(withToken(URL_, OP));
    await tpage.waitForSelector('[data-testid="counters"]');
    const wide = [];
    for (const [name, path] of [["overview", "/"], ["alerts", "/alerts"], ["fleet", "/fleet"], ["graph", "/graph"]]) {
      await tpage.click(`nav a[href="${path}"]`);
      await tpage.waitForSelector(`[data-testid="page-${name}"]`);
      await tpage.waitForTimeout(1500);
      const overflow = await tpage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 1) wide.push(`${name} by ${overflow}px`);
      await shot(tpage, `${name}-tablet`);
    }
    expect(wide.length === 0, `scrolls sideways at 820px: ${wide.join(", ")}`);
    await tctx.close();
  });
} finally {
  await browser.close();
}

finish();
