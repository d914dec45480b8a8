// What the dashboard's browser tests share (run.mjs, soc.mjs, outputs.mjs, reconnect.mjs): the
// environment, the system Chromium headless, named checks gathered into one JSON line,
// full-page screenshots into SCREENSHOT_DIR, console errors, and the hub's API with a token.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};

export const dashUrl = () => env("DASH_URL").replace(/\/$/, "");

export const launch = () =>
  chromium.launch({
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });

export function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// console errors (but those matching `ignore`, a RegExp) and page errors into `sink`
export function watchConsole(page, sink, ignore = null) {
  page.on("console", (m) => {
    if (m.type() === "error" && !ignore?.test(m.text())) sink.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => sink.push(`pageerror: ${e.message}`));
}

// a fresh desktop-sized context and its page; console and page errors into `errors` if given
export async function newPage(browser, errors = null, ignore = null) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  if (errors) watchConsole(page, errors, ignore);
  return { ctx, page };
}

// the dashboard at `path` with the token in the URL fragment (the app moves it to storage)
export const withToken = (base, token, path = "/") => `${base}${path}#token=${encodeURIComponent(token)}`;

// api(token, path[, init]) against `${base}/api`: { status, body } (body null when not JSON)
export const apiClient = (base) => async (token, path, init = {}) => {
  const res = await fetch(`${base}/api${path}`, { ...init, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
};

// One script's checks: check(name, fn) records each (fn may return a detail object), shot()
// saves a screenshot, finish() prints the JSON line and exits 1 when a check failed.
export function suite(extra = {}) {
  const shots = env("SCREENSHOT_DIR", "reports/screenshots");
  mkdirSync(shots, { recursive: true });
  const results = { checks: [], screenshots: [], ...extra };
  const failures = [];
  return {
    results,
    async check(name, fn) {
      const t0 = Date.now();
      try {
        const detail = await fn();
        results.checks.push({ name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) });
      } catch (err) {
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        results.checks.push({ name, ok: false, ms: Date.now() - t0 });
      }
    },
    async shot(page, name) {
      const file = join(shots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      results.screenshots.push(file);
    },
    finish() {
      results.ok = failures.length === 0;
      results.failures = failures;
      console.log(JSON.stringify(results));
      process.exit(failures.length ? 1 : 0);
    },
  };
}
