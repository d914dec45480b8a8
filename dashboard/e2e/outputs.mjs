// Browser test of the Outputs page against a RUNNING `fednids demo` whose store receives the
// state of a real outputs process (tests/integration/dashboard/test_dashboard_outputs.py runs
// it: two webhook outputs, "ticketing" whose receiver answers 503, "siem" whose receiver
// accepts). Checks: the page is in the nav; the down output is unhealthy with its last error,
// its failures and a lag that grows (records and seconds) while the healthy one is caught up;
// once the test brings the receiver back (this script writes RECOVER_FILE), the output turns
// healthy and its lag drops to 0. Env: DASH_URL, READ_TOKEN, RECOVER_FILE, PENDING (records the
// down output holds), SCREENSHOT_DIR, CHROMIUM. Prints one JSON line.
import { writeFileSync } from "node:fs";
import { dashUrl, env, expect, launch, newPage, suite, withToken } from "./lib.mjs";

const URL_ = dashUrl();
const READ = env("READ_TOKEN");
const RECOVER = env("RECOVER_FILE");
const PENDING = env("PENDING");
const { check, shot, finish } = suite();
const row = (page, name) => page.locator(`[data-testid="output-row"][data-output="${name}"]`);
const cell = async (page, name, id) => ((await row(page, name).locator(`[data-testid="${id}"]`).textContent()) ?? "").trim();
const lagSeconds = async (page, name) => Number(await row(page, name).locator('[data-testid="output-lag-seconds"]').getAttribute("data-seconds"));

const browser = await launch();
try {
  const errors = [];
  const { ctx, page } = await newPage(browser, errors);
  await page.goto(withToken(URL_, READ));
  await page.waitForSelector('[data-testid="page-overview"]');

  await check("the Outputs page is in the nav and lists both outputs", async () => {
    await page.click('nav a[href="/outputs"]');
    await page.waitForSelector('[data-testid="page-outputs"] [data-testid="outputs"]');
    await row(page, "ticketing").waitFor({ timeout: 20000 });
    await row(page, "siem").waitFor({ timeout: 20000 });
  });

  let first = 0;
  await check("the down output is unhealthy with its error, failures and lag; the other healthy", async () => {
    await page.locator('[data-testid="output-row"][data-output="ticketing"][data-health="unhealthy"]').waitFor({ timeout: 20000 });
    await page.waitForFunction(
      (n) => document.querySelector('[data-output="ticketing"] [data-testid="output-lag-records"]')?.textContent?.trim() === n,
      PENDING,
      { timeout: 20000 },
    );
    await page.locator('[data-testid="output-row"][data-output="siem"][data-health="healthy"]').waitFor({ timeout: 20000 });
    const err = await cell(page, "ticketing", "output-error");
    expect(err.includes("503"), `last error: ${err}`);
    const fails = Number(await cell(page, "ticketing", "output-failures"));
    expect(fails >= 1, `failures in a row: ${fails}`);
    expect((await cell(page, "ticketing", "output-delivered")) === "0", "the down output delivered nothing");
    expect((await cell(page, "siem", "output-lag-records")) === "0", "siem caught up");
    expect((await cell(page, "siem", "output-delivered")) === PENDING, "siem delivered everything");
    const unhealthy = ((await page.locator('[data-testid="outputs-unhealthy"] .stat-value').textContent()) ?? "").trim();
    expect(unhealthy === "1", `unhealthy count ${unhealthy}`);
    first = await lagSeconds(page, "ticketing");
    await shot(page, "outputs-down");
    return { lag_seconds: first, failures: fails };
  });

  await check("its lag in seconds keeps growing while the receiver is down", async () => {
    await page.waitForFunction(
      (before) => Number(document.querySelector('[data-output="ticketing"] [data-testid="output-lag-seconds"]')?.getAttribute("data-seconds")) >= before + 2,
      first,
      { timeout: 20000 },
    );
    const later = await lagSeconds(page, "ticketing");
    expect(later > first, `lag ${first} -> ${later}`);
    return { from: first, to: later };
  });

  await check("once the receiver is back the output is healthy and caught up", async () => {
    writeFileSync(RECOVER, "recover\n");
    await page.locator('[data-testid="output-row"][data-output="ticketing"][data-health="healthy"]').waitFor({ timeout: 30000 });
    await page.waitForFunction(
      () => document.querySelector('[data-output="ticketing"] [data-testid="output-lag-records"]')?.textContent?.trim() === "0",
      undefined,
      { timeout: 30000 },
    );
    expect((await cell(page, "ticketing", "output-delivered")) === PENDING, "everything delivered after the outage");
    expect((await cell(page, "ticketing", "output-failures")) === "0", "no failure in a row");
    await shot(page, "outputs-recovered");
    expect(errors.length === 0, errors.join(" | "));
  });
  await ctx.close();
} finally {
  await browser.close();
}
finish();
