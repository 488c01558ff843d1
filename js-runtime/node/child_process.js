// node:child_process: loadable; chat functions start no processes.
"use strict";
const { unavailableAll, unavailableClass } = internal.lib("errors");
const api = unavailableAll("child_process", ["exec", "execFile", "execFileSync", "execSync", "fork", "spawn", "spawnSync"]);
const ChildProcess = unavailableClass("child_process.ChildProcess");
module.exports = { ...api, ChildProcess };
0 && (module.exports = { exec, execFile, execFileSync, execSync, fork, spawn, spawnSync, ChildProcess });
