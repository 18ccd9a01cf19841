// Opens the gateway's GraphiQL in headless Chromium with every address but the
// loopback one unreachable, runs the first example tab, and prints what the page
// shows as the result, with every request the page tried to make.
// usage: node graphiql.browser.mjs http://127.0.0.1:PORT/graphql [CHROMIUM]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.argv[2];
const executablePath = process.argv[3] || "/usr/bin/chromium";
const loopback = (address) => {
  const { protocol, hostname } = new URL(address);
  return protocol === "data:" || hostname === "127.0.0.1";
};

const profile = mkdtempSync(join(tmpdir(), "graphiql-profile-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Names resolve to nothing and traffic goes to a dead proxy, loopback aside.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
  ],
});

const requests = [];
const blocked = [];
const consoleErrors = [];
try {
  // And the page itself may reach nothing but loopback: anything else is
  // recorded, then failed.
  await context.route("**/*", (route) => {
    const requested = route.request().url();
    if (loopback(requested)) return route.continue();
    blocked.push(requested);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  const started = Date.now();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-execute-button", { timeout: 20000 });
  const tabs = await page.locator(".graphiql-tab").allInnerTexts();
  const examples = await page.locator("[data-example]").allInnerTexts();
  const firstTab = await run(page);
  // An example from the Examples panel, loaded into the current tab.
  await page.click('[data-example="ApplicationDetail"]');
  const fromPanel = await run(page);
  await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT || join(profile, "shot.png") });
  console.log(
    JSON.stringify({
      title: await page.title(),
      tabs,
      examples,
      firstTab,
      fromPanel,
      requests,
      blocked,
      consoleErrors,
      milliseconds: Date.now() - started,
    })
  );
} catch (error) {
  // What the page did, to tell a broken page from a slow one.
  const page = context.pages()[0];
  if (page) await page.screenshot({ path: join(tmpdir(), "graphiql-failure.png") });
  console.log(
    JSON.stringify({ error: String(error), requests, blocked, consoleErrors })
  );
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

// Runs the active tab and returns the response GraphiQL shows, parsed.
async function run(page) {
  const before = await resultText(page);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (previous) => {
      const box = document.querySelector(".result-window .CodeMirror");
      const text = box && box.CodeMirror ? box.CodeMirror.getValue() : "";
      return text !== previous && text.trim().endsWith("}");
    },
    before,
    { timeout: 20000 }
  );
  return JSON.parse(await resultText(page));
}

function resultText(page) {
  return page.evaluate(() => {
    const box = document.querySelector(".result-window .CodeMirror");
    return box && box.CodeMirror ? box.CodeMirror.getValue() : "";
  });
}
