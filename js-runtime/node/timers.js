// node:timers: the global timers, and timers/promises as `promises`.
"use strict";
const { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate } = globalThis;
module.exports = {
  setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate,
  get promises() {
    return require("timers/promises");
  },
  active() {},
  unenroll() {},
  enroll() {},
};
0 && (module.exports = { promises });
