// node:os: a neutral Linux machine, never the host's own facts.
"use strict";

const constants = Object.freeze({
  UV_UDP_REUSEADDR: 4,
  dlopen: Object.freeze({ RTLD_LAZY: 1, RTLD_NOW: 2, RTLD_GLOBAL: 256, RTLD_LOCAL: 0 }),
  errno: Object.freeze({ E2BIG: 7, EACCES: 13, EADDRINUSE: 98, EAGAIN: 11, EBADF: 9, ECONNREFUSED: 111, ECONNRESET: 104, EEXIST: 17, EINVAL: 22, EISDIR: 21, EMFILE: 24, ENOENT: 2, ENOTDIR: 20, EPERM: 1, EPIPE: 32, ETIMEDOUT: 110 }),
  signals: Object.freeze({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 }),
  priority: Object.freeze({ PRIORITY_LOW: 19, PRIORITY_BELOW_NORMAL: 10, PRIORITY_NORMAL: 0, PRIORITY_ABOVE_NORMAL: -7, PRIORITY_HIGH: -14, PRIORITY_HIGHEST: -20 }),
});
const cpu = Object.freeze({ model: "Virtual CPU", speed: 2000, times: Object.freeze({ user: 0, nice: 0, sys: 0, idle: 0, irq: 0 }) });
const MEMORY = 1024 * 1024 * 1024;

const EOL = "\n";
const devNull = "/dev/null";
const arch = () => "x64";
const platform = () => "linux";
const type = () => "Linux";
const release = () => "6.0.0";
const version = () => "#1 SMP";
const machine = () => "x86_64";
const hostname = () => "localhost";
const homedir = () => "/home/node";
const tmpdir = () => "/tmp";
const endianness = () => "LE";
const cpus = () => [cpu];
const availableParallelism = () => 1;
const totalmem = () => MEMORY;
const freemem = () => MEMORY / 2;
const loadavg = () => [0, 0, 0];
const uptime = () => Math.floor(performance.now() / 1000);
const networkInterfaces = () => ({});
const userInfo = (options) => {
  const info = { uid: 1000, gid: 1000, username: "node", homedir: "/home/node", shell: "/bin/sh" };
  return options?.encoding === "buffer" ? Object.fromEntries(Object.entries(info).map(([k, v]) => [k, typeof v === "string" ? Buffer.from(v) : v])) : info;
};
const getPriority = () => 0;
const setPriority = () => {};

module.exports = {
  EOL, devNull, constants, arch, platform, type, release, version, machine, hostname, homedir, tmpdir, endianness,
  cpus, availableParallelism, totalmem, freemem, loadavg, uptime, networkInterfaces, userInfo, getPriority, setPriority,
};
