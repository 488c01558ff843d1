// The dashboard in a real headless Chromium, as a developer uses it: sign
// in, create a function, see a syntax error marked, fix and deploy, test it
// with a sample event, roll back, watch a live invocation arrive, set an
// environment variable and install a dependency. Run by
// tests/chatfn/dashboard.rs with CHATFN_URL, CHATFN_CLIENT_ID,
// CHATFN_CLIENT_SECRET, CHROMIUM and SCREENSHOTS (a directory).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.CHATFN_URL;
const clientId = process.env.CHATFN_CLIENT_ID;
const clientSecret = process.env.CHATFN_CLIENT_SECRET;
const shots = process.env.SCREENSHOTS;

async function token() {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret });
  const answer = await (await fetch(`${base}/oauth/token`, { method: "POST", body })).json();
  return answer.access_token;
}

test("a developer goes from nothing to a deployed, tested, rolled-back function", async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const violations = [];
    const failures = [];
    // Refusals the steps provoke (a wrong secret, a syntax error, the
    // install progress before and after the install) are 4xx; a 5xx or a
    // script error is a failure.
    page.on("pageerror", (e) => failures.push(e.message));
    page.on("response", (r) => { if (r.status() >= 500) failures.push(`${r.status()} ${r.url()}`); });
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__violations = [...(window.__violations ?? []), `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${String(e.target?.outerHTML ?? e.target?.nodeName).slice(0, 200)}`];
      });
    });
    const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

    // Sign in: a wrong secret is refused with the server's message.
    await page.goto(`${base}/dashboard`);
    await page.fill('input[name="clientId"]', clientId);
    await page.fill('input[name="clientSecret"]', "wrong");
    await page.click("#signin button");
    await page.waitForSelector("#signin-problem:not(:empty)");
    await shot("1-sign-in");
    await page.fill('input[name="clientSecret"]', clientSecret);
    await page.click("#signin button");
    await page.waitForSelector("#create-function");

    // Create a login function.
    await page.selectOption('#create-function select[name="type"]', "user.attempted.start_session");
    await page.fill('#create-function input[name="name"]', "login");
    await page.click("#create-function button");
    await page.waitForSelector("#code-editor .cm-editor");
    const styled = await page.$eval("#code-editor .cm-editor", (el) => getComputedStyle(el).display);
    assert.equal(styled, "flex", "the editor's styles apply under the page's CSP");
    const highlighted = await page.$$eval("#code-editor .cm-content span", (spans) => spans.length);
    assert.ok(highlighted > 3, "TypeScript is highlighted");

    // A syntax error is refused by the server and marked at its line and column.
    const setCode = async (code) => {
      await page.click("#code-editor .cm-content");
      await page.keyboard.press("Control+A");
      await page.keyboard.press("Delete");
      await page.keyboard.insertText(code);
      const now = await page.$eval("#code-editor .cm-content", (el) => el.innerText);
      assert.equal(now.trim(), code.trim(), "the editor holds what was typed");
    };
    await setCode("async function handleEvent(event: any) {\n  return { hi: event.username +; };\n}\n");
    await page.click("#deploy");
    await page.waitForSelector("#deploy-status .problem");
    const problem = await page.textContent("#deploy-status .problem");
    assert.match(problem, /line 2, column \d+/, problem);
    await page.waitForSelector("#code-editor .cm-lintRange-error");
    await page.waitForSelector("#code-editor .cm-lint-marker-error");
    await shot("2-syntax-error-marked");

    // Fixed and deployed, twice.
    await setCode("async function handleEvent(event: any) {\n  console.log('v1 for', event.username);\n  return { hi: event.username, v: 1 };\n}\n");
    await page.click("#deploy");
    await page.waitForSelector("#deploy-status .ok");
    assert.equal(await page.textContent("#deploy-status .ok"), "Deployed version 1.");
    assert.equal(await page.$$eval("#code-editor .cm-lintRange-error", (e) => e.length), 0, "the mark is gone");
    await setCode("async function handleEvent(event: any) {\n  console.log('v2 for', event.username);\n  return { hi: event.username, v: 2 };\n}\n");
    await page.click("#deploy");
    await page.waitForFunction(() => document.querySelector("#deploy-status .ok")?.textContent === "Deployed version 2.");
    await shot("3-deployed");

    // A test run with the sample event for the trigger type.
    await page.click('.tabs a:has-text("Test")');
    await page.waitForSelector("#event-editor .cm-editor");
    assert.match(await page.textContent("#event-editor .cm-content"), /jane@example.com/);
    await page.selectOption("#test-which", "1");
    await page.click("#run-test");
    await page.waitForSelector("#test-status");
    assert.equal(await page.textContent("#test-status"), "SUCCEEDED");
    const result = JSON.parse(await page.textContent("#test-result"));
    assert.deepEqual(result, { payload: { hi: "jane@example.com", v: 1 } });
    assert.match(await page.textContent("#test-outcome .logs"), /\[info\] v1 for jane@example.com/);
    await shot("4-test-run");

    // Versions: a diff of the two, then a rollback to version 1.
    await page.click('.tabs a:has-text("Versions")');
    await page.waitForSelector("#diff .cm-mergeView");
    const changed = await page.$$eval("#diff .cm-changedLine, #diff .cm-changedText", (e) => e.length);
    assert.ok(changed > 0, "the diff shows what changed");
    await shot("5-versions-diff");
    await page.click('tr[data-version="1"] button.rollback');
    await page.waitForSelector('tr[data-version="1"].current');

    // The log: a live invocation arrives without reloading.
    await page.click('.tabs a:has-text("Log")');
    await page.waitForFunction(() => document.querySelector("#tail-state")?.textContent === "following");
    const bearer = await token();
    const answer = await (await fetch(`${base}/v1/triggers/user.attempted.start_session`, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: JSON.stringify({ username: "ann", authParams: {} }),
    })).json();
    assert.deepEqual(answer.result, { payload: { hi: "ann", v: 1 } }, "rolled back to version 1");
    await page.waitForSelector(`#invocations tr[data-id="${answer.invocationId}"]`, { timeout: 10_000 });
    await page.click(`#invocations tr[data-id="${answer.invocationId}"]`);
    await page.waitForSelector("#invocation-detail pre");
    assert.match(await page.textContent("#invocation-detail"), /v1 for ann/);
    await shot("6-live-log");

    // The runtime: an environment variable, masked until shown.
    await page.click('#nav a:has-text("Runtime")');
    await page.waitForSelector("#add-variable");
    await page.fill('#add-variable input[name="name"]', "API_KEY");
    await page.fill('#add-variable input[name="value"]', "sekrit");
    await page.click("#add-variable button");
    await page.click("#save-variables");
    await page.waitForSelector("#env-status .ok");
    assert.equal(await page.textContent('tr[data-name="API_KEY"] .value'), "••••••");
    await page.click('tr[data-name="API_KEY"] button.show');
    assert.equal(await page.textContent('tr[data-name="API_KEY"] .value'), "sekrit");

    // A dependency, installed with progress.
    await page.fill('#add-dependency input[name="name"]', "greet");
    await page.fill('#add-dependency input[name="version"]', "~1.1");
    await page.click("#add-dependency button");
    await page.click("#install");
    await page.waitForSelector("#install-progress .ok", { timeout: 30_000 });
    assert.match(await page.textContent("#install-progress .ok"), /greet@1\.1\.0/);
    assert.match(await page.textContent('tr[data-name="greet"]'), /1\.1\.0/);
    await shot("7-runtime");

    // The server has it all: variable and package in the runtime.
    const runtime = await (await fetch(`${base}/v1/runtimes/nodejs`, { headers: { Authorization: `Bearer ${bearer}` } })).json();
    assert.equal(runtime.environmentVariables.API_KEY, "sekrit");
    assert.equal(runtime.installedDependencies.greet, "1.1.0");

    // An initialization script that does not compile is marked too.
    await page.click("#init-editor .cm-content");
    await page.keyboard.insertText("const broken = ;");
    await page.click("#save-init");
    await page.waitForSelector("#init-editor .cm-lintRange-error");
    assert.match(await page.textContent("#init-status .problem"), /does not compile/);
    await page.click("#init-editor .cm-content");
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText("const greeting = 'hi';");
    await page.click("#save-init");
    await page.waitForSelector("#init-status .ok");
    assert.match(await page.textContent("#runtime-version"), /version 1\.0\.3/);

    // The functions: listed, disabled and enabled again, a second one deleted.
    page.on("dialog", (d) => d.accept());
    await page.click('#nav a:has-text("Functions")');
    await page.waitForSelector('#functions tr[data-name="login"]');
    assert.match(await page.textContent('#functions tr[data-name="login"]'), /user\.attempted\.start_session\s*1/);
    const fnState = async () => (await (await fetch(`${base}/v1/runtimes/nodejs/functions`, { headers: { Authorization: `Bearer ${bearer}` } })).json())._embedded.functions;
    await page.uncheck('#functions tr[data-name="login"] input.enabled');
    await page.waitForFunction(() => document.getElementById("toast").textContent === "login disabled");
    assert.equal((await fnState()).find((f) => f.name === "login").enabled, false);
    await page.check('#functions tr[data-name="login"] input.enabled');
    await page.waitForFunction(() => document.getElementById("toast").textContent === "login enabled");
    assert.equal((await fnState()).find((f) => f.name === "login").enabled, true);
    await page.selectOption('#create-function select[name="type"]', "user.received.notification");
    await page.fill('#create-function input[name="name"]', "notify");
    await page.click("#create-function button");
    await page.waitForSelector("#code-editor .cm-editor");
    await page.click('#nav a:has-text("Functions")');
    await page.waitForSelector('#functions tr[data-name="notify"]');
    await shot("8-functions");
    await page.click('#functions tr[data-name="notify"] button.delete');
    await page.waitForFunction(() => !document.querySelector('#functions tr[data-name="notify"]') && document.querySelector('#functions tr[data-name="login"]'));
    assert.deepEqual((await fnState()).map((f) => f.name), ["login"]);

    const blocked = await page.evaluate(() => window.__violations ?? []);
    assert.deepEqual(blocked, [], "nothing was refused by the Content-Security-Policy");
    assert.deepEqual(failures, [], "no script error, no server error");
  } finally {
    await browser.close();
  }
});
