// node:console: the global console, and a Console class writing to it.
"use strict";
const consoleGlobal = globalThis.console;
class Console {
  constructor() {
    return consoleGlobal;
  }
}
module.exports = consoleGlobal;
module.exports.Console = Console;
0 && (module.exports = { log, info, warn, error, debug, trace, dir, table, assert, Console });
