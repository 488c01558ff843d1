// The chatfn dashboard: one page over the same API as everyone else, signed
// in as one application with its client credentials. Everything is drawn
// with DOM nodes and textContent: functions' output is data, never markup.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { MergeView } from "@codemirror/merge";

const nonce = document.querySelector('meta[name="csp-nonce"]')?.content ?? "";
const main = document.getElementById("main");

// ---------------------------------------------------------------- DOM

/** An element with attributes (`on*` are listeners) and children (text or nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 2500);
}

const pretty = (value) => (value === undefined ? "" : JSON.stringify(value, null, 2));

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

let token = sessionStorage.getItem("chatfn.token");

async function api(method, path, body, contentType = "application/json") {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = contentType;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (res.status === 401) {
    signOut("Signed out: " + (data?.message ?? "the token is no longer valid"));
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const embedded = (page, name) => page?._embedded?.[name] ?? [];

// ---------------------------------------------------------------- editors

function editor(parent, doc, { language = "ts", readOnly = false, onChange } = {}) {
  const extensions = [
    basicSetup,
    language === "json" ? json() : javascript({ typescript: true }),
    lintGutter(),
    EditorView.cspNonce.of(nonce),
    EditorState.readOnly.of(readOnly),
  ];
  if (onChange) extensions.push(EditorView.updateListener.of((u) => u.docChanged && onChange(u.state.doc.toString())));
  return new EditorView({ doc, extensions, parent });
}

/** Marks a compile error the server answered (`line`, `column`, 1-based) in the editor. */
function markProblem(view, error) {
  const doc = view.state.doc;
  let diagnostics = [];
  if (error?.line >= 1) {
    const line = doc.line(Math.min(error.line, doc.lines));
    const from = Math.min(line.from + Math.max((error.column ?? 1) - 1, 0), line.to);
    const to = Math.min(from + 1, line.to) > from ? Math.min(from + 1, line.to) : from;
    diagnostics = [{ from, to, severity: "error", message: error.message ?? "does not compile" }];
  }
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

function clearProblem(view) {
  view.dispatch(setDiagnostics(view.state, []));
}

// ---------------------------------------------------------------- sign in

function signOut(message) {
  token = null;
  sessionStorage.removeItem("chatfn.token");
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  renderSignIn(message);
}

function renderSignIn(message) {
  leave();
  const problem = h("div", { className: "problem", id: "signin-problem" }, message ?? "");
  const form = h("form", {
    id: "signin",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: form.elements.clientId.value,
        client_secret: form.elements.clientSecret.value,
      });
      const res = await fetch("/oauth/token", { method: "POST", body });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        problem.textContent = answer.message ?? `sign-in failed (HTTP ${res.status})`;
        return;
      }
      token = answer.access_token;
      sessionStorage.setItem("chatfn.token", token);
      start();
    },
  },
    h("label", {}, "Client id", h("input", { name: "clientId", autocomplete: "username", required: true })),
    h("label", {}, "Client secret", h("input", { name: "clientSecret", type: "password", autocomplete: "current-password", required: true })),
    h("button", { className: "primary" }, "Sign in"),
  );
  main.replaceChildren(h("div", { className: "signin" }, h("h2", {}, "Sign in to an application"), form, problem));
}

async function start() {
  try {
    const application = await api("GET", "/v1/application");
    document.getElementById("who").textContent = `${application.name} · ${application.key}`;
  } catch {
    return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  if (!location.hash || location.hash === "#/") location.hash = "#/functions";
  else route();
}

// ---------------------------------------------------------------- routing

/** What the page being left must stop (a live tail). */
let cleanups = [];
function leave() {
  for (const stop of cleanups) stop();
  cleanups = [];
}

function route() {
  if (!token) return renderSignIn();
  leave();
  const parts = location.hash.replace(/^#\//, "").split("/");
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.getAttribute("href") === `#/${parts[0]}`);
  }
  const failed = (e) => main.replaceChildren(h("div", { className: "problem" }, e.message));
  if (parts[0] === "runtime") return renderRuntime().catch(failed);
  if (parts[0] === "functions" && parts[1]) return renderFunction(Number(parts[1]), parts[2] ?? "code").catch(failed);
  return renderFunctions().catch(failed);
}

window.addEventListener("hashchange", route);
document.getElementById("signout").addEventListener("click", () => signOut());

// ---------------------------------------------------------------- trigger types

let triggerTypes;
async function loadTriggerTypes() {
  if (!triggerTypes) {
    const doc = await (await fetch("/openapi.json")).json();
    triggerTypes = doc.components?.schemas?.CreateFunctionBody?.properties?.type?.enum ?? [];
  }
  return triggerTypes;
}

/** A sample event for each trigger type, as the platform sends it. */
function sampleEvent(type) {
  const user = { id: 1, name: "jane@example.com", displayName: "Jane", isGuest: false, presence: { status: "AVAILABLE", online: true }, properties: {} };
  const channel = { id: 1, type: "PUBLIC", name: "general", displayName: "General", properties: {} };
  const message = { id: 1, type: "TEXT", body: "Hello!", user, channelId: 1, properties: {}, createdTime: new Date().toISOString() };
  switch (type) {
    case "user.attempted.start_session": return { username: "jane@example.com", authParams: { password: "hunter2" } };
    case "user.attempted.send_message": return { user, channel, message: { type: "TEXT", body: "Hello!", properties: {} } };
    case "user.received.notification": return { user, notification: { id: 1, title: "Ann sent a message", body: "Hello!", type: "USER:SENT:MESSAGE", channel, data: {}, createdTime: new Date().toISOString() }, userHasActiveSession: false };
    case "user.sent.message": return { user, channel, message };
    case "user.started.chat_session": return { user, channel, channelUnread: false, channelMessagesCount: 1 };
    default: return {};
  }
}

const template = (type) =>
  `// ${type}\nasync function handleEvent(event: any, context: any) {\n  console.log("event", JSON.stringify(event));\n  return { ok: true };\n}\n`;

// ---------------------------------------------------------------- functions

async function renderFunctions() {
  const [page, types] = await Promise.all([api("GET", "/v1/runtimes/nodejs/functions?size=100"), loadTriggerTypes()]);
  const functions = embedded(page, "functions");
  const taken = new Set(functions.map((f) => f.type));
  const problem = h("div", { className: "problem" });
  const typeSelect = h("select", { name: "type" }, types.filter((t) => !taken.has(t)).map((t) => h("option", { value: t }, t)));
  const create = h("form", {
    id: "create-function",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const made = await api("POST", "/v1/runtimes/nodejs/functions", {
          type: create.elements.type.value,
          name: create.elements.name.value,
          initializeAsynchronously: create.elements.warm.checked,
        });
        location.hash = `#/functions/${made.id}/code`;
      } catch (e) {
        problem.textContent = e.message;
      }
    },
  },
    typeSelect,
    h("input", { name: "name", placeholder: "name", required: true }),
    h("label", {}, h("input", { type: "checkbox", name: "warm" }), " initialize asynchronously"),
    h("button", { className: "primary" }, "Create function"),
  );
  const rows = functions.map((f) =>
    h("tr", { className: "clickable", dataset: { id: f.id, name: f.name }, onclick: (e) => { if (!e.target.closest("input,button")) location.hash = `#/functions/${f.id}/code`; } },
      h("td", {}, f.name),
      h("td", {}, f.type),
      h("td", {}, f.currentVersionNumber ?? "—"),
      h("td", {}, h("input", {
        type: "checkbox", checked: f.enabled, title: "enabled", className: "enabled",
        onchange: async (e) => {
          try {
            await api("PATCH", `/v1/functions/${f.id}`, { enabled: e.target.checked }, "application/merge-patch+json");
            toast(`${f.name} ${e.target.checked ? "enabled" : "disabled"}`);
          } catch (err) {
            e.target.checked = !e.target.checked;
            problem.textContent = err.message;
          }
        },
      })),
      h("td", {}, h("button", {
        className: "danger delete",
        onclick: async () => {
          if (!confirm(`Delete ${f.name} with its versions and invocation log?`)) return;
          await api("DELETE", `/v1/functions/${f.id}`);
          renderFunctions();
        },
      }, "Delete")),
    ),
  );
  main.replaceChildren(
    h("h2", {}, "Functions"),
    h("table", { id: "functions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Trigger"), h("th", {}, "Version"), h("th", {}, "Enabled"), h("th", {}))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, className: "muted" }, "No functions yet."))),
    ),
    h("h3", {}, "New function"),
    create,
    problem,
  );
}

/** Per function, what the code editor holds (the draft a test runs). */
const drafts = new Map();

async function renderFunction(id, tab) {
  const fn = await api("GET", `/v1/functions/${id}`);
  const tabs = ["code", "versions", "test", "log"].map((name) =>
    h("a", { href: `#/functions/${id}/${name}`, className: name === tab ? "active" : "" }, name[0].toUpperCase() + name.slice(1)));
  const body = h("div", { id: `tab-${tab}` });
  main.replaceChildren(
    h("h2", {}, fn.name, " ", h("span", { className: "muted" }, fn.type, fn.enabled ? "" : " · disabled")),
    h("div", { className: "tabs" }, tabs),
    body,
  );
  const views = { code: codeTab, versions: versionsTab, test: testTab, log: logTab };
  await (views[tab] ?? codeTab)(fn, body);
}

async function currentScript(fn) {
  if (drafts.has(fn.id)) return drafts.get(fn.id);
  if (fn.currentVersionNumber) {
    const version = await api("GET", `/v1/functions/${fn.id}/current-version`);
    return version.handlerScript;
  }
  return template(fn.type);
}

async function codeTab(fn, body) {
  const status = h("div", { id: "deploy-status" });
  const host = h("div", { className: "editor", id: "code-editor" });
  const view = editor(host, await currentScript(fn), { onChange: (doc) => drafts.set(fn.id, doc) });
  const deploy = h("button", {
    className: "primary", id: "deploy",
    onclick: async () => {
      clearProblem(view);
      status.replaceChildren();
      try {
        const version = await api("POST", `/v1/functions/${fn.id}/versions`, { handlerScript: view.state.doc.toString() });
        drafts.delete(fn.id);
        status.replaceChildren(h("div", { className: "ok" }, `Deployed version ${version.versionNumber}.`));
      } catch (e) {
        markProblem(view, e.body);
        status.replaceChildren(h("div", { className: "problem" }, e.message));
      }
    },
  }, "Save and deploy");
  body.replaceChildren(
    h("div", { className: "bar" }, deploy, h("span", { className: "muted" }, fn.currentVersionNumber ? `Current: version ${fn.currentVersionNumber}` : "Not deployed yet")),
    host,
    status,
  );
}

async function versionsTab(fn, body) {
  const page = await api("GET", `/v1/functions/${fn.id}/versions?size=100&sort=versionNumber,desc`);
  const versions = embedded(page, "versions");
  const current = (await api("GET", `/v1/functions/${fn.id}`)).currentVersionNumber;
  const problem = h("div", { className: "problem" });
  const rows = versions.map((v) =>
    h("tr", { dataset: { version: v.versionNumber }, className: v.versionNumber === current ? "current" : "" },
      h("td", {}, `v${v.versionNumber}`, v.versionNumber === current ? " (current)" : ""),
      h("td", {}, new Date(v.createdTime).toLocaleString()),
      h("td", {}, v.versionNumber === current ? "" : h("button", {
        className: "rollback",
        onclick: async () => {
          try {
            await api("PUT", `/v1/functions/${fn.id}/current-version`, { versionNumber: v.versionNumber });
            drafts.delete(fn.id);
            toast(`Version ${v.versionNumber} is current`);
            versionsTab(fn, body);
          } catch (e) {
            problem.textContent = e.message;
          }
        },
      }, `Roll back to v${v.versionNumber}`)),
    ));
  const pick = (name, selected) => h("select", { name }, versions.map((v) => h("option", { value: v.versionNumber, selected: v.versionNumber === selected }, `v${v.versionNumber}`)));
  const left = pick("from", versions[1]?.versionNumber ?? versions[0]?.versionNumber);
  const right = pick("to", versions[0]?.versionNumber);
  const diffHost = h("div", { className: "diff", id: "diff" });
  let merge;
  const showDiff = () => {
    merge?.destroy();
    const script = (n) => versions.find((v) => v.versionNumber === Number(n))?.handlerScript ?? "";
    const side = (doc) => ({ doc, extensions: [basicSetup, javascript({ typescript: true }), EditorView.editable.of(false), EditorState.readOnly.of(true), EditorView.cspNonce.of(nonce)] });
    merge = new MergeView({ a: side(script(left.value)), b: side(script(right.value)), parent: diffHost });
  };
  left.addEventListener("change", showDiff);
  right.addEventListener("change", showDiff);
  body.replaceChildren(
    h("table", { id: "versions" }, h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { className: "muted" }, "No versions yet.")))),
    problem,
    h("h3", {}, "Compare"),
    h("div", { className: "bar" }, left, "→", right),
    diffHost,
  );
  if (versions.length) showDiff();
}

async function testTab(fn, body) {
  const page = await api("GET", `/v1/functions/${fn.id}/versions?size=100&sort=versionNumber,desc`);
  const versions = embedded(page, "versions");
  const which = h("select", { id: "test-which" },
    h("option", { value: "draft" }, drafts.has(fn.id) ? "the draft in the editor" : "the code in the editor"),
    versions.map((v) => h("option", { value: v.versionNumber }, `version ${v.versionNumber}`)));
  const eventHost = h("div", { className: "editor", id: "event-editor" });
  const events = editor(eventHost, pretty(sampleEvent(fn.type)), { language: "json" });
  const outcome = h("div", { id: "test-outcome" });
  const run = h("button", {
    className: "primary", id: "run-test",
    onclick: async () => {
      outcome.replaceChildren(h("div", { className: "muted" }, "Running…"));
      let event;
      try {
        event = JSON.parse(events.state.doc.toString());
      } catch (e) {
        outcome.replaceChildren(h("div", { className: "problem" }, `The event is not JSON: ${e.message}`));
        return;
      }
      const request = { event };
      if (which.value === "draft") request.handlerScript = await currentScript(fn);
      else request.versionNumber = Number(which.value);
      try {
        const ran = await api("POST", `/v1/functions/${fn.id}/test`, request);
        outcome.replaceChildren(...describeRun(ran));
      } catch (e) {
        outcome.replaceChildren(h("div", { className: "problem" }, e.message));
      }
    },
  }, "Run test");
  body.replaceChildren(
    h("div", { className: "bar" }, "Run", which, "with this event:", run),
    eventHost,
    outcome,
  );
}

/** A run's status, duration, result or error (with its stack) and console lines. */
function describeRun(ran) {
  const nodes = [
    h("h3", {}, h("span", { className: ran.status, id: "test-status" }, ran.status), h("span", { className: "muted" }, ` in ${(ran.durationMs ?? 0).toFixed(2)} ms`)),
  ];
  if (ran.error) nodes.push(h("h3", {}, "Error"), h("pre", { className: "problem", id: "test-error" }, ran.error.stack ?? `${ran.error.name}: ${ran.error.message}`));
  else nodes.push(h("h3", {}, "Result"), h("pre", { id: "test-result" }, pretty(ran.result)));
  nodes.push(h("h3", {}, "Console"), logLines(ran.logs));
  return nodes;
}

function logLines(logs) {
  const lines = (logs ?? []).map((l) => h("div", { className: "logline" }, `[${l.level}] ${l.message}`));
  return h("div", { className: "logs" }, lines.length ? lines : h("span", { className: "muted" }, "(nothing)"));
}

// ---------------------------------------------------------------- invocation log

async function logTab(fn, body) {
  const status = h("select", { name: "status" }, ["", "SUCCEEDED", "FAILED", "RUNNING", "QUEUED"].map((s) => h("option", { value: s }, s || "any status")));
  const query = h("input", { name: "query", placeholder: "search args, result, logs, errors" });
  const live = h("input", { type: "checkbox", id: "live", checked: true });
  const state = h("span", { className: "muted", id: "tail-state" });
  const rows = h("tbody", { id: "invocations" });
  const detail = h("div", { id: "invocation-detail" });
  const matches = (inv) => (!status.value || inv.status === status.value) &&
    (!query.value || JSON.stringify([inv.args, inv.result, inv.error, inv.logs]).includes(query.value));
  const row = (inv, fresh) => h("tr", {
    className: "clickable" + (fresh ? " fresh" : ""), dataset: { id: inv.id, status: inv.status },
    onclick: (e) => {
      for (const r of rows.children) r.classList.remove("selected");
      e.currentTarget.classList.add("selected");
      detail.replaceChildren(...describeInvocation(inv));
    },
  },
    h("td", {}, new Date(inv.createdTime).toLocaleTimeString()),
    h("td", { className: inv.status }, inv.status),
    h("td", {}, `v${inv.versionNumber}`),
    h("td", {}, inv.attempt),
    h("td", {}, inv.durationMs == null ? "" : `${inv.durationMs.toFixed(1)} ms`),
    h("td", { className: "muted" }, inv.id),
  );
  const load = async () => {
    const params = new URLSearchParams({ size: "50" });
    if (status.value) params.set("status", status.value);
    if (query.value) params.set("query", query.value);
    const page = await api("GET", `/v1/functions/${fn.id}/invocations?${params}`);
    rows.replaceChildren(...embedded(page, "invocations").map((inv) => row(inv, false)));
  };
  const filters = h("form", { onsubmit: (e) => { e.preventDefault(); load(); } },
    status, query, h("button", {}, "Filter"), h("label", {}, live, " live"), state);
  body.replaceChildren(
    filters,
    h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Status", "Version", "Attempt", "Duration", "Id"].map((t) => h("th", {}, t)))), rows),
    detail,
  );
  await load();

  // The live tail: pushed by the server (server-sent events over fetch, so
  // that the token stays in a header), resumed after the last one seen.
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  let lastEventId = null;
  const follow = async () => {
    while (!abort.signal.aborted) {
      try {
        const headers = { Authorization: `Bearer ${token}` };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const res = await fetch(`/v1/functions/${fn.id}/invocations/stream`, { headers, signal: abort.signal });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        state.textContent = "following";
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = {};
            for (const line of block.split("\n")) {
              const colon = line.indexOf(":");
              if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
            }
            if (fields.id) lastEventId = fields.id;
            if (fields.event !== "invocation" || !live.checked) continue;
            const inv = JSON.parse(fields.data);
            if (!matches(inv)) continue;
            rows.querySelector(`tr[data-id="${inv.id}"]`)?.remove();
            rows.prepend(row(inv, true));
          }
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        state.textContent = `reconnecting (${e.message})`;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  follow();
}

function describeInvocation(inv) {
  const nodes = [h("h3", {}, `Invocation ${inv.id}`, " ", h("span", { className: inv.status }, inv.status))];
  if (inv.error) nodes.push(h("h3", {}, "Error"), h("pre", { className: "problem" }, inv.error.stack ?? `${inv.error.name}: ${inv.error.message}`));
  if (inv.result) nodes.push(h("h3", {}, "Result"), h("pre", {}, pretty(inv.result)));
  nodes.push(h("h3", {}, "Event"), h("pre", {}, pretty(inv.args)), h("h3", {}, "Console"), logLines(inv.logs));
  nodes.push(h("div", { className: "muted" }, `created ${inv.createdTime}`, inv.finishedTime ? `, finished ${inv.finishedTime}` : ""));
  return nodes;
}

// ---------------------------------------------------------------- runtime

async function renderRuntime() {
  const runtime = await api("GET", "/v1/runtimes/nodejs");
  const version = h("span", { className: "muted", id: "runtime-version" }, `version ${runtime.version}`);
  const changed = (saved) => { version.textContent = `version ${saved.version}`; };
  const deps = runtime.dependencies.map((d) => ({ ...d }));
  const env = { ...runtime.environmentVariables };

  // Dependencies, installed with live progress.
  const depRows = h("tbody", { id: "dependencies" });
  const progress = h("div", { id: "install-progress" });
  const drawDeps = () => depRows.replaceChildren(...deps.map((d, i) =>
    h("tr", { dataset: { name: d.name } },
      h("td", {}, d.name), h("td", {}, d.version),
      h("td", { className: "muted" }, runtime.installedDependencies?.[d.name] ?? "not installed"),
      h("td", {}, h("button", { className: "danger", onclick: () => { deps.splice(i, 1); drawDeps(); } }, "Remove")))));
  drawDeps();
  const addDep = h("form", {
    id: "add-dependency",
    onsubmit: (e) => {
      e.preventDefault();
      deps.push({ name: addDep.elements.name.value.trim(), version: addDep.elements.version.value.trim() || "latest", defaultDependency: false });
      addDep.reset();
      drawDeps();
    },
  }, h("input", { name: "name", placeholder: "package", required: true }), h("input", { name: "version", placeholder: "version or range" }), h("button", {}, "Add"));
  const install = h("button", {
    className: "primary", id: "install",
    onclick: async () => {
      install.disabled = true;
      const bar = h("progress", { value: 0, max: 1 });
      const label = h("span", { className: "muted" }, "resolving…");
      progress.replaceChildren(bar, " ", label);
      let done = false;
      const poll = async () => {
        while (!done) {
          try {
            const p = await api("GET", "/v1/runtimes/nodejs/dependencies/install");
            if (p.packagesTotal) {
              bar.max = p.packagesTotal;
              bar.value = p.packagesFetched;
              label.textContent = `${p.packagesFetched}/${p.packagesTotal} packages, ${(p.bytesUnpacked / 1e6).toFixed(1)} MB`;
            } else label.textContent = `resolving… ${p.packagesResolved} packages`;
          } catch { /* not started yet, or finished */ }
          await new Promise((r) => setTimeout(r, 150));
        }
      };
      poll();
      try {
        const installed = await api("PUT", "/v1/runtimes/nodejs/dependencies", deps);
        runtime.installedDependencies = installed.installedDependencies;
        changed(installed);
        const names = Object.entries(installed.installedDependencies ?? {}).map(([n, v]) => `${n}@${v}`).join(", ");
        progress.replaceChildren(h("div", { className: "ok" }, `Installed ${names || "nothing"} (${installed.installedPackages?.length ?? 0} packages); runtime ${installed.version}.`));
        drawDeps();
      } catch (e) {
        progress.replaceChildren(h("div", { className: "problem" }, e.message));
      } finally {
        done = true;
        install.disabled = false;
      }
    },
  }, "Install dependencies");

  // Environment variables, masked until asked.
  const envRows = h("tbody", { id: "environment" });
  const envStatus = h("div", { id: "env-status" });
  const drawEnv = () => envRows.replaceChildren(...Object.keys(env).sort().map((name) => {
    const value = h("code", { className: "value" }, "••••••");
    let shown = false;
    return h("tr", { dataset: { name } },
      h("td", {}, name), h("td", {}, value),
      h("td", {},
        h("button", { className: "show", onclick: (e) => { shown = !shown; value.textContent = shown ? env[name] : "••••••"; e.target.textContent = shown ? "Hide" : "Show"; } }, "Show"),
        " ",
        h("button", { className: "danger", onclick: () => { delete env[name]; drawEnv(); } }, "Remove")));
  }));
  drawEnv();
  const addEnv = h("form", {
    id: "add-variable",
    onsubmit: (e) => {
      e.preventDefault();
      env[addEnv.elements.name.value.trim()] = addEnv.elements.value.value;
      addEnv.reset();
      drawEnv();
    },
  }, h("input", { name: "name", placeholder: "NAME", required: true }), h("input", { name: "value", placeholder: "value", type: "password", autocomplete: "off" }), h("button", {}, "Add"));
  const saveEnv = h("button", {
    className: "primary", id: "save-variables",
    onclick: async () => {
      try {
        const saved = await api("PUT", "/v1/runtimes/nodejs/environment-variables", env);
        changed(saved);
        envStatus.replaceChildren(h("div", { className: "ok" }, `Saved; runtime ${saved.version}.`));
      } catch (e) {
        envStatus.replaceChildren(h("div", { className: "problem" }, e.message));
      }
    },
  }, "Save variables");

  // The initialization script.
  const initHost = h("div", { className: "editor", id: "init-editor" });
  const initStatus = h("div", { id: "init-status" });
  const init = editor(initHost, runtime.initializationScript?.script ?? "");
  const saveInit = h("button", {
    className: "primary", id: "save-init",
    onclick: async () => {
      clearProblem(init);
      try {
        const saved = await api("PUT", "/v1/runtimes/nodejs/initialization-script", { script: init.state.doc.toString() });
        changed(saved);
        initStatus.replaceChildren(h("div", { className: "ok" }, `Saved; runtime ${saved.version}.`));
      } catch (e) {
        markProblem(init, e.body);
        initStatus.replaceChildren(h("div", { className: "problem" }, e.message));
      }
    },
  }, "Save initialization script");

  main.replaceChildren(
    h("h2", {}, "Chat runtime ", version),
    h("h3", {}, "Dependencies"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Package"), h("th", {}, "Range"), h("th", {}, "Installed"), h("th", {}))), depRows),
    addDep, h("div", { className: "bar" }, install), progress,
    h("h3", {}, "Environment variables"),
    h("table", {}, envRows),
    addEnv, h("div", { className: "bar" }, saveEnv), envStatus,
    h("h3", {}, "Initialization script"),
    initHost, h("div", { className: "bar" }, saveInit), initStatus,
  );
}

// ---------------------------------------------------------------- start

if (token) start();
else renderSignIn();
