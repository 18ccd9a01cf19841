// Opens the gateway's GraphiQL in headless Chromium with every address but the
// loopback one unreachable, runs the first example tab, and prints what the page
// shows as the result, with every request the page tried to make.
// Then what a person sees: the Docs panel (the schema, fetched by introspection),
// autocomplete while typing, and a page on another localhost port calling the
// gateway (CORS), and the example subscription running over the WebSocket while
// an Auco signer signs in the sandbox (POST /_sandbox/auco/…/sign): the event it
// shows. GRAPHIQL_SCREENSHOTS=DIR saves graphiql-docs.png,
// graphiql-autocomplete.png and graphiql-subscription.png there.
// usage: node graphiql.browser.mjs http://127.0.0.1:PORT/graphql [CHROMIUM]
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
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
  const shots = process.env.GRAPHIQL_SCREENSHOTS || profile;
  const docs = await docsPanel(page, join(shots, "graphiql-docs.png"));
  const autocomplete = await autocompleteOffers(page, join(shots, "graphiql-autocomplete.png"));
  const crossOrigin = await callFromAnotherPort(context, url);
  const subscription = await subscribeAndSign(
    page, url, join(shots, "graphiql-subscription.png")
  );
  console.log(
    JSON.stringify({
      title: await page.title(),
      tabs,
      examples,
      firstTab,
      fromPanel,
      docs,
      autocomplete,
      crossOrigin,
      subscription,
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

// Opens the Docs panel; returns what its root view lists once the schema is in.
async function docsPanel(page, path) {
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector(".graphiql-doc-explorer-root-type", { timeout: 20000 });
  const panel = await page.locator(".graphiql-doc-explorer").first().innerText();
  const errors = await page.locator(".graphiql-doc-explorer-error").allInnerTexts();
  await page.screenshot({ path });
  return { rootTypes: panel.match(/^\w+: \w+$/gm) || [], errors };
}

// Types into a fresh query and returns the suggestions the popup offers.
async function autocompleteOffers(page, path) {
  const editor = page.locator(".graphiql-query-editor .CodeMirror").first();
  await editor.click();
  await page.evaluate(() => {
    const box = document.querySelector(".graphiql-query-editor .CodeMirror");
    box.CodeMirror.setValue("");
    box.CodeMirror.focus();
  });
  await page.keyboard.type("{\n  appl");
  await page.waitForSelector(".CodeMirror-hints .CodeMirror-hint", { timeout: 20000 });
  const offered = await page.locator(".CodeMirror-hints .CodeMirror-hint").allInnerTexts();
  await page.screenshot({ path });
  return offered;
}

// A page served from another loopback port posts to the gateway, and sends a
// GET with the preflight header: both need CORS.
async function callFromAnotherPort(context, gateway) {
  const html = `<!DOCTYPE html><title>front end</title><script>
    const gateway = ${JSON.stringify(gateway)};
    const query = "{ providers { name } }";
    window.answers = Promise.all([
      fetch(gateway, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query }) }).then((r) => r.json()),
      fetch(gateway + "?query=" + encodeURIComponent(query),
        { headers: { "GraphQL-Preflight": "1" } }).then((r) => r.json()),
      fetch(gateway + "?query=" + encodeURIComponent(query)).then((r) => r.json()),
    ]).catch((error) => String(error));
  </script>`;
  const server = createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end(html);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  try {
    const page = await context.newPage();
    await page.goto(origin, { waitUntil: "load" });
    const [post, get, noPreflight] = await page.evaluate(() => window.answers);
    await page.close();
    return { origin, post, get, noPreflight };
  } finally {
    server.close();
  }
}

// Runs the example subscription (every document: no $id) from the Examples
// panel; once GraphiQL has sent its subscribe frame, a signer signs DEMOWAIT01
// through the gateway's sandbox route (Node's own request, not the page's), the
// Auco sandbox posts its webhook to the gateway, and the event reaches the page.
// Returns the frames the page exchanged and what the result pane shows.
async function subscribeAndSign(page, gateway, path) {
  const frames = { sent: [], received: [] };
  let subscribed;
  const sentSubscribe = new Promise((resolve) => (subscribed = resolve));
  page.on("websocket", (socket) => {
    frames.url = socket.url();
    socket.on("framesent", (frame) => {
      const type = messageType(frame.payload);
      frames.sent.push(type);
      if (type === "subscribe") subscribed();
    });
    socket.on("framereceived", (frame) => {
      frames.received.push(messageType(frame.payload));
    });
  });
  // The Docs panel is open by now: back to the Examples panel.
  const example = page.locator('[data-example="DocumentUpdates"]');
  if (!(await example.isVisible())) {
    await page.click('button[aria-label="Show Examples"]');
  }
  await example.click();
  await page.evaluate(() => {
    const box = document.querySelector(".graphiql-editor-tool .CodeMirror");
    if (box && box.CodeMirror) box.CodeMirror.setValue("{}");
  });
  // GraphiQL parses the query a moment after it changes (debounced) and picks
  // the WebSocket by the parsed operation: run it once the editor holds that
  // (the operation name alone is set at once, by the example's loading).
  await page.waitForFunction(
    () => {
      const box = document.querySelector(".graphiql-query-editor .CodeMirror");
      const ast = box && box.CodeMirror && box.CodeMirror.documentAST;
      return Boolean(
        ast && ast.definitions.some((d) => d.operation === "subscription")
      );
    },
    undefined,
    { timeout: 20000 }
  );
  await page.click(".graphiql-execute-button");
  await Promise.race([
    sentSubscribe,
    page.waitForTimeout(20000).then(() => {
      throw new Error(`no subscribe frame: ${JSON.stringify(frames)}`);
    }),
  ]);
  const signed = await fetch(
    gateway.replace(/\/graphql$/, "/_sandbox/auco/documents/DEMOWAIT01/sign"),
    {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "ana.garcia@example.com" }),
    }
  );
  await page.waitForFunction(
    () => {
      const box = document.querySelector(".result-window .CodeMirror");
      const text = box && box.CodeMirror ? box.CodeMirror.getValue() : "";
      return text.includes('"cause"') && text.trim().endsWith("}");
    },
    undefined,
    { timeout: 20000 }
  );
  const shown = JSON.parse(await resultText(page));
  await page.screenshot({ path });
  // Stop the subscription (the execute button stops a running one).
  await page.click(".graphiql-execute-button");
  return { signed: signed.status, frames, shown };
}

function messageType(payload) {
  try {
    return JSON.parse(payload).type;
  } catch {
    return `unparsable: ${String(payload).slice(0, 200)}`;
  }
}
