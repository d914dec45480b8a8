// Browser tests of the SOC parts of the dashboard against a RUNNING `fednids demo` whose store
// holds the incidents of tests/integration/dashboard/soc_seed.py: the incident view (ATT&CK,
// flow metadata, IOC hits), "suppress like this", "mark false positive", the Suppressions page
// (hits, audit trail, expire), a read-only token refused, the Inventory page (seeded asset,
// filters, detail row), "Fetch packets" on a hub without packet evidence (409 shown) and the
// Threat-intel page. Env: DASH_URL, OPERATOR_TOKEN, READ_TOKEN, IOC_KEY, FP_KEY, READ_KEY,
// ASSET_MAC, INTEL_SOURCE, SCREENSHOT_DIR, CHROMIUM. Prints one JSON line.
import { apiClient, dashUrl, env, expect, launch, newPage, suite, withToken } from "./lib.mjs";

const URL_ = dashUrl();
const OP = env("OPERATOR_TOKEN");
const READ = env("READ_TOKEN");
const IOC_KEY = env("IOC_KEY");
const FP_KEY = env("FP_KEY");
const READ_KEY = env("READ_KEY");
const ASSET_MAC = env("ASSET_MAC");
const INTEL_SOURCE = env("INTEL_SOURCE");
const { check, shot, finish } = suite();
const api = apiClient(URL_);
const row = (page, key) => page.locator(`[data-testid="alert-row"][data-alert-id="${key}"]`);

const browser = await launch();
try {
  const errors = [];
  const { ctx, page } = await newPage(browser, errors);
  await page.goto(withToken(URL_, OP));
  await page.waitForSelector('[data-testid="page-overview"]');

  await check("the Suppressions page renders (none yet)", async () => {
    await page.click('nav a[href="/suppressions"]');
    await page.waitForSelector('[data-testid="page-suppressions"] [data-testid="suppressions"]');
    await page.waitForSelector('text=No active suppressions.', { timeout: 10000 });
    await shot(page, "suppressions-empty");
  });

  await check("the incident view shows ATT&CK, DNS/SNI/JA4 metadata and the IOC hit", async () => {
    await page.click('nav a[href="/alerts"]');
    await row(page, IOC_KEY).waitFor({ timeout: 20000 });
    await row(page, IOC_KEY).locator('[data-testid="incident-open"]').click();
    const view = page.locator('[data-testid="incident-view"]');
    await view.locator('[data-testid="technique"]').first().waitFor({ timeout: 10000 });
    const techs = await view.locator('[data-testid="technique"]').allTextContents();
    expect(techs.length === 2 && techs[0].startsWith("T1071 Application Layer Protocol"), `techniques: ${techs}`);
    const href = await view.locator('[data-testid="technique"]').nth(1).getAttribute("href");
    expect(href === "https://attack.mitre.org/techniques/T1583/005/", `link ${href}`);
    const meta = await view.locator('[data-testid="flow-meta"]').first().textContent({ timeout: 10000 });
    for (const want of ["DNS c2.bad.example", "SNI c2.bad.example", "JA4 t13d1516h2_"]) {
      expect((meta ?? "").includes(want), `flow metadata lacks ${want}: ${meta}`);
    }
    const ioc = await view.locator('[data-testid="ioc-hit"]').first().textContent();
    expect((ioc ?? "").includes("indicator=c2.bad.example"), `IOC hit: ${ioc}`);
    await shot(page, "incident-view");
  });

  let suppressionId = null;
  await check("suppress like this: a prefilled form, widened, saved; the incident is hidden", async () => {
    await page.locator('[data-testid="suppress-like"]').click();
    const form = page.locator('[data-testid="suppress-form"]');
    await form.waitFor({ timeout: 10000 });
    const attacker = await form.locator('[data-testid="sf-attacker"]').inputValue();
    expect(attacker === "203.0.113.7/32", `prefilled attacker ${attacker}`);
    expect((await form.locator('[data-testid="sf-family"]').inputValue()) === "botnet", "prefilled family");
    await form.locator('[data-testid="sf-target"]').fill(""); // any target
    await form.locator('[data-testid="sf-reason"]').fill("sinkholed C2, lab test");
    await form.locator('[data-testid="sf-days"]').fill("7");
    await shot(page, "suppress-form");
    await form.locator('[data-testid="sf-save"]').click();
    await row(page, IOC_KEY).waitFor({ state: "detached", timeout: 10000 });
    await page.locator('[data-testid="alert-suppressed"]').selectOption("only");
    await page.waitForSelector(`[data-testid="alert-row"][data-alert-id="${IOC_KEY}"][data-suppressed="true"]`, { timeout: 10000 });
    const got = await api(OP, "/suppressions");
    const s = got.body.items.find((x) => x.source_incident === IOC_KEY);
    expect(s && s.match.target === null && s.match.attacker === "203.0.113.7/32", `stored: ${JSON.stringify(got.body)}`);
    expect(/\(operator\)$/.test(s.author) && s.hits === 4, `author ${s.author}, hits ${s.hits}`);
    suppressionId = s.id;
    await shot(page, "alerts-suppressed-only");
  });

  await check("mark false positive: suppressed and resolved as a false positive", async () => {
    await page.locator('[data-testid="alert-suppressed"]').selectOption("exclude");
    await row(page, FP_KEY).waitFor({ timeout: 10000 });
    await row(page, FP_KEY).locator('[data-testid="incident-open"]').click();
    await page.locator('[data-testid="mark-fp"]').click();
    await row(page, FP_KEY).waitFor({ state: "detached", timeout: 10000 });
    const got = await api(OP, "/alerts?suppressed=only&status=resolved&limit=500");
    const a = got.body.items.find((x) => x.alert_id === FP_KEY);
    expect(a && a.resolution === "false_positive" && a.suppressed_by, `stored: ${JSON.stringify(a)}`);
  });

  await check("the Suppressions page lists hits and the audit trail, and expires one", async () => {
    await page.click('nav a[href="/suppressions"]');
    const r = page.locator(`[data-testid="suppression-row"][data-suppression-id="${suppressionId}"]`);
    await r.waitFor({ timeout: 10000 });
    expect((await page.locator('[data-testid="suppression-row"]').count()) === 2, "two active suppressions");
    expect((await r.locator('[data-testid="suppression-hits"]').textContent()) === "4", "hits");
    await r.locator('[data-testid="suppression-audit-toggle"]').click();
    await page.waitForSelector('[data-testid="audit-entry"][data-action="marked"]', { timeout: 10000 });
    await shot(page, "suppressions-audit");
    await r.locator('[data-testid="suppression-expire"]').click();
    await r.waitFor({ state: "detached", timeout: 10000 });
    await page.locator('[data-testid="suppression-state"]').selectOption("expired");
    const gone = page.locator(`[data-testid="suppression-row"][data-suppression-id="${suppressionId}"][data-state="expired"]`);
    await gone.waitFor({ timeout: 10000 });
    await gone.locator('[data-testid="suppression-audit-toggle"]').click();
    await page.waitForSelector('[data-testid="audit-entry"][data-action="expired"]', { timeout: 10000 });
    await shot(page, "suppressions-expired");
    expect(errors.length === 0, errors.join(" | "));
  });
  await ctx.close();

  await check("a read-only token cannot mark a false positive", async () => {
    const { ctx: rctx, page: rpage } = await newPage(browser);
    await rpage.goto(withToken(URL_, READ, "/alerts"));
    await row(rpage, READ_KEY).waitFor({ timeout: 20000 });
    await row(rpage, READ_KEY).locator('[data-testid="incident-open"]').click();
    await rpage.locator('[data-testid="mark-fp"]').click();
    const msg = await rpage.locator('[data-testid="action-error"]').textContent({ timeout: 10000 });
    expect(/403/.test(msg ?? ""), `expected a 403 message, got ${msg}`);
    await shot(rpage, "incident-read-only-denied");
    const still = await api(OP, "/alerts?limit=500");
    expect(still.body.items.some((x) => x.alert_id === READ_KEY && !x.suppressed_by), "changed with a read token");
    await rctx.close();
  });

  const oerrors = [];
  const { ctx: octx, page: opage } = await newPage(browser, oerrors, /status of 409/);
  await opage.goto(withToken(URL_, OP));
  await opage.waitForSelector('[data-testid="page-overview"]');

  await check("the Inventory page lists the seeded device, filters it and opens its details", async () => {
    await opage.click('nav a[href="/inventory"]');
    const r = opage.locator(`[data-testid="asset-row"][data-asset="sensor-1/${ASSET_MAC}"]`);
    await r.waitFor({ timeout: 15000 });
    const chips = await r.locator('[data-testid="asset-services"] .badge').allTextContents();
    expect(chips.join(" ") === "tcp/631 udp/5353", `services: ${chips}`);
    expect(((await r.textContent()) ?? "").includes("printer-2.local"), "mDNS name");
    await opage.locator('[data-testid="inventory-vendor"]').fill("raspberry");
    await opage.locator('[data-testid="inventory-apply"]').click();
    await r.waitFor({ timeout: 10000 });
    await r.locator('[data-testid="asset-toggle"]').click();
    const prl = await opage.locator('[data-testid="asset-prl"]').textContent({ timeout: 10000 });
    expect(prl === "1,3,6,15,26,28", `DHCP PRL ${prl}`);
    await shot(opage, "inventory");
    await opage.locator('[data-testid="inventory-q"]').fill("no-such-device");
    await opage.locator('[data-testid="inventory-apply"]').click();
    await opage.waitForSelector("text=No device matches.", { timeout: 10000 });
  });

  await check("fetch packets on a hub without packet evidence shows the 409 reason", async () => {
    await opage.click('nav a[href="/alerts"]');
    await row(opage, READ_KEY).waitFor({ timeout: 20000 });
    await row(opage, READ_KEY).locator('[data-testid="incident-open"]').click();
    await opage.locator('[data-testid="fetch-packets"]').click();
    const msg = await opage.locator('[data-testid="evidence-error"]').textContent({ timeout: 10000 });
    expect(/^409 .*not configured/.test(msg ?? ""), `expected the 409 reason, got ${msg}`);
    expect((await opage.locator('[data-testid="evidence-item"]').count()) === 0, "no evidence request listed");
    await shot(opage, "incident-evidence-off");
  });

  await check("the Threat-intel page lists the source, its counts and its IOC hit", async () => {
    await opage.click('nav a[href="/intel"]');
    const src = opage.locator(`[data-testid="intel-source"][data-source="${INTEL_SOURCE}"]`);
    await src.waitFor({ timeout: 15000 });
    await opage.locator('[data-testid="intel-hit"]').first().waitFor({ timeout: 15000 }); // the hits query answered
    const hits = await src.locator('[data-testid="intel-source-hits"]').textContent();
    expect(hits === "1", `hits of ${INTEL_SOURCE}: ${hits}`);
    const count = await opage.locator('[data-testid="intel-count"] .stat-value').textContent();
    expect(count === "3", `indicators ${count}`);
    expect(((await opage.locator('[data-testid="intel-types"]').textContent()) ?? "").includes("ipv4"), "types");
    await shot(opage, "intel");
    expect(oerrors.length === 0, oerrors.join(" | "));
  });
  await octx.close();
} finally {
  await browser.close();
}
finish();
