// Runs every e2e/tests/*.mjs against a real `tongxin serve --demo` in a real headless Chromium.
// Each test module exports `default async function (t)`; t gives the server URL, a browser,
// helpers and node:assert. Exit code is non-zero when any test fails.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.TONGXIN_BIN || join(here, "..", "target", "debug", "tongxin");
const chromePath = process.env.CHROMIUM || "/usr/bin/chromium";
const only = process.argv[2];

function startServer() {
  const data = mkdtempSync(join(tmpdir(), "tongxin-e2e-"));
  const proc = spawn(bin, ["serve", "--demo", "--listen", "127.0.0.1:0", "--data", data], {
    env: { ...process.env, RUST_LOG: "warn", TONGXIN_DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stderr.on("data", (d) => (log += d));
  const url = new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) resolve(m[0]);
    });
    proc.on("exit", (code) => reject(new Error(`server exited ${code}: ${log}`)));
    setTimeout(() => reject(new Error("server did not start in 120 s: " + log)), 120000);
  });
  return { proc, url, data, log: () => log };
}

const server = startServer();
let failed = 0;
let browser;
try {
  const base = await server.url;
  browser = await chromium.launch({
    executablePath: chromePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const shots = join(here, "test-results");
  mkdirSync(shots, { recursive: true });
  const files = readdirSync(join(here, "tests")).filter((f) => f.endsWith(".mjs") && (!only || f.includes(only))).sort();
  for (const f of files) {
    const mod = await import(join(here, "tests", f));
    const t = {
      base,
      browser,
      assert,
      shots,
      password: "Tongxin2026",
      // A new isolated browser context (own cookies), phone-sized unless told otherwise.
      async context(opts = {}) {
        return browser.newContext({ viewport: { width: 375, height: 812 }, locale: "zh-CN", ...opts });
      },
      async login(page, username) {
        await page.goto(base + "/login");
        await page.fill("#username", username);
        await page.fill("#password", "Tongxin2026");
        await Promise.all([page.waitForNavigation(), page.click("#login-submit")]);
      },
    };
    const started = Date.now();
    try {
      await mod.default(t);
      console.log(`ok   ${f} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${f}: ${e.stack || e}`);
    }
  }
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e.stack || e}\n${server.log()}`);
} finally {
  if (browser) await browser.close();
  server.proc.kill("SIGTERM");
  rmSync(server.data, { recursive: true, force: true });
}
console.log(failed ? `${failed} e2e test file(s) failed` : "all e2e tests passed");
process.exit(failed ? 1 : 0);
