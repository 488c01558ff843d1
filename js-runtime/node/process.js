// node:process: the global `process`.
"use strict";
module.exports = globalThis.process;
0 && (module.exports = {
  env, nextTick, platform, arch, version, versions, release, features, config, argv, argv0, execArgv, execPath, pid,
  ppid, exitCode, cwd, chdir, umask, uptime, hrtime, memoryUsage, resourceUsage, cpuUsage, emitWarning, exit, abort,
  kill, stdout, stderr, stdin, title, on, once, off, emit, addListener, removeListener, removeAllListeners, listeners,
});
