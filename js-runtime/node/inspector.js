// node:inspector: loadable; there is no inspector.
"use strict";
const { unavailable, unavailableClass } = internal.lib("errors");
module.exports = {
  open: unavailable("inspector.open"), close() {}, url: () => undefined, waitForDebugger: unavailable("inspector.waitForDebugger"),
  Session: unavailableClass("inspector.Session"), console: globalThis.console,
};
0 && (module.exports = { open, close, url, waitForDebugger, Session, console });
