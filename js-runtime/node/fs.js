// node:fs, read-only over the installed packages' own files: packages read
// their JSON, proto and data files through it. The virtual tree holds
// `/node_modules/<name>@<version>/...` (each module's `__dirname`) and
// nothing else: other paths fail with ENOENT, writes with EACCES, as Node
// fails on a read-only tree it may not write.
"use strict";

const { ops } = internal;
const { op_chatfn_fs_stat, op_chatfn_fs_readdir } = ops;
// File contents are copied into buffers the runtime's budget counts.
const op_chatfn_fs_read = (path) => internal.host.counted(ops.op_chatfn_fs_read(path));
const pathModule = require("path");

const constants = Object.freeze({
  F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1, O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_TRUNC: 512,
  O_APPEND: 1024, O_DIRECTORY: 65536, O_NOFOLLOW: 131072, O_SYNC: 1052672, S_IFMT: 61440, S_IFREG: 32768,
  S_IFDIR: 16384, S_IFLNK: 40960, COPYFILE_EXCL: 1, COPYFILE_FICLONE: 2, COPYFILE_FICLONE_FORCE: 4, UV_FS_O_FILEMAP: 0,
});
const ERRNO = { ENOENT: -2, EACCES: -13, EISDIR: -21, ENOTDIR: -20, EBADF: -9, EFBIG: -27, EIO: -5, EEXIST: -17, EINVAL: -22 };
const DESCRIPTIONS = {
  ENOENT: "no such file or directory", EACCES: "permission denied", EISDIR: "illegal operation on a directory",
  ENOTDIR: "not a directory", EBADF: "bad file descriptor", EFBIG: "file too large", EIO: "i/o error",
  EEXIST: "file already exists", EINVAL: "invalid argument",
};

function fsError(code, syscall, path) {
  const error = new Error(`${code}: ${DESCRIPTIONS[code] ?? code}, ${syscall}${path !== undefined ? ` '${path}'` : ""}`);
  error.errno = ERRNO[code] ?? -5;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  return error;
}

function toPath(path, name = "path") {
  if (typeof path === "string") return path;
  if (path instanceof URL) {
    if (path.protocol !== "file:") throw new TypeError("The URL must be of scheme file");
    return decodeURIComponent(path.pathname);
  }
  if (Buffer.isBuffer(path) || path instanceof Uint8Array) return Buffer.from(path).toString();
  const error = new TypeError(`The "${name}" argument must be of type string or an instance of Buffer or URL. Received ${path === null ? "null" : typeof path}`);
  error.code = "ERR_INVALID_ARG_TYPE";
  throw error;
}
const absolute = (path) => pathModule.resolve("/", toPath(path));

function host(fn, syscall, path) {
  try {
    return fn(absolute(path));
  } catch (e) {
    // The host names the failure in `code`; Node's error is made here.
    if (e instanceof Error && e.syscall !== undefined) throw e;
    throw fsError(String(e?.code ?? "EIO"), syscall, toPath(path));
  }
}

class Stats {
  constructor(raw) {
    const mtime = raw.mtimeMs;
    this.dev = 1;
    this.mode = raw.isFile ? 0o100444 : 0o40555;
    this.nlink = 1;
    this.uid = 1000;
    this.gid = 1000;
    this.rdev = 0;
    this.blksize = 4096;
    this.ino = raw.ino;
    this.size = raw.size;
    this.blocks = Math.ceil(raw.size / 512);
    this.atimeMs = this.mtimeMs = this.ctimeMs = this.birthtimeMs = mtime;
    this.atime = new Date(mtime);
    this.mtime = new Date(mtime);
    this.ctime = new Date(mtime);
    this.birthtime = new Date(mtime);
  }
  isFile() {
    return (this.mode & constants.S_IFMT) === constants.S_IFREG;
  }
  isDirectory() {
    return (this.mode & constants.S_IFMT) === constants.S_IFDIR;
  }
}

class Dirent {
  constructor(name, isFile, parentPath) {
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this[kIsFile] = isFile;
  }
  isFile() {
    return this[kIsFile];
  }
  isDirectory() {
    return !this[kIsFile];
  }
}
const kIsFile = Symbol("isFile");
// The tree holds files and directories only.
for (const Kind of [Stats, Dirent]) {
  for (const method of ["isSymbolicLink", "isBlockDevice", "isCharacterDevice", "isFIFO", "isSocket"]) {
    Object.defineProperty(Kind.prototype, method, { value: () => false, writable: true, configurable: true });
  }
}

function encodingOf(options) {
  return typeof options === "string" ? options : options?.encoding ?? null;
}
function decode(bytes, encoding) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding && encoding !== "buffer" ? buffer.toString(encoding) : buffer;
}

// ---------------------------------------------------------------------------
// Reads.
// ---------------------------------------------------------------------------
function readFileSync(path, options) {
  if (typeof path === "number") return readFd(path, encodingOf(options));
  const flag = typeof options === "object" ? options?.flag : undefined;
  if (flag && /[wa+]/.test(flag)) throw fsError("EACCES", "open", toPath(path));
  return decode(host(op_chatfn_fs_read, "open", path), encodingOf(options));
}
function statSync(path, options) {
  try {
    return new Stats(host(op_chatfn_fs_stat, "stat", path));
  } catch (e) {
    if (options?.throwIfNoEntry === false && e.code === "ENOENT") return undefined;
    throw e;
  }
}
const lstatSync = statSync;
function existsSync(path) {
  try {
    host(op_chatfn_fs_stat, "stat", path);
    return true;
  } catch {
    return false;
  }
}
function readdirSync(path, options) {
  const dir = absolute(path);
  const entries = host(op_chatfn_fs_readdir, "scandir", path);
  if (options?.recursive) {
    const out = [];
    const walk = (base, relative) => {
      for (const entry of op_chatfn_fs_readdir(base)) {
        const rel = relative ? `${relative}/${entry.name}` : entry.name;
        out.push(options.withFileTypes ? new Dirent(entry.name, entry.isFile, base) : rel);
        if (!entry.isFile) walk(`${base}/${entry.name}`, rel);
      }
    };
    walk(dir, "");
    return out;
  }
  if (options?.withFileTypes) return entries.map((e) => new Dirent(e.name, e.isFile, dir));
  const encoding = encodingOf(options);
  return entries.map((e) => (encoding === "buffer" ? Buffer.from(e.name) : e.name));
}
function realpathSync(path) {
  host(op_chatfn_fs_stat, "realpath", path);
  return absolute(path);
}
realpathSync.native = realpathSync;
function accessSync(path, mode = constants.F_OK) {
  host(op_chatfn_fs_stat, "access", path);
  if (mode & constants.W_OK) throw fsError("EACCES", "access", toPath(path));
}
function readlinkSync(path) {
  host(op_chatfn_fs_stat, "readlink", path);
  throw fsError("EINVAL", "readlink", toPath(path));
}

// File descriptors over whole-file reads (read-only).
const descriptors = new Map();
let nextFd = 10;
function openSync(path, flags = "r") {
  if (typeof flags === "string" ? /[wa+]/.test(flags) : (flags & 3) !== 0) throw fsError("EACCES", "open", toPath(path));
  const stat = host(op_chatfn_fs_stat, "open", path);
  const bytes = stat.isFile ? host(op_chatfn_fs_read, "open", path) : null;
  const fd = nextFd++;
  descriptors.set(fd, { path: absolute(path), bytes, position: 0, stat });
  return fd;
}
function descriptor(fd, syscall) {
  const d = descriptors.get(fd);
  if (d === undefined) throw fsError("EBADF", syscall);
  return d;
}
function readSync(fd, buffer, offsetOrOptions = 0, length, position) {
  const d = descriptor(fd, "read");
  if (d.bytes === null) throw fsError("EISDIR", "read");
  let offset = offsetOrOptions;
  if (typeof offsetOrOptions === "object" && offsetOrOptions !== null) ({ offset = 0, length, position } = offsetOrOptions);
  length ??= buffer.byteLength - offset;
  const from = typeof position === "number" && position >= 0 ? position : d.position;
  const chunk = d.bytes.subarray(from, from + length);
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).set(chunk, offset);
  if (!(typeof position === "number" && position >= 0)) d.position += chunk.length;
  return chunk.length;
}
function readFd(fd, encoding) {
  const d = descriptor(fd, "read");
  if (d.bytes === null) throw fsError("EISDIR", "read");
  const rest = d.bytes.subarray(d.position);
  d.position = d.bytes.length;
  return decode(rest, encoding);
}
function fstatSync(fd) {
  return new Stats(descriptor(fd, "fstat").stat);
}
function closeSync(fd) {
  descriptor(fd, "close");
  descriptors.delete(fd);
}

// ---------------------------------------------------------------------------
// Writes: refused.
// ---------------------------------------------------------------------------
const WRITES = [
  ["writeFile", "open"], ["appendFile", "open"], ["mkdir", "mkdir"], ["mkdtemp", "mkdtemp"], ["rm", "rm"],
  ["rmdir", "rmdir"], ["unlink", "unlink"], ["rename", "rename"], ["copyFile", "copyfile"], ["cp", "cp"],
  ["symlink", "symlink"], ["link", "link"], ["chmod", "chmod"], ["lchmod", "lchmod"], ["chown", "chown"],
  ["lchown", "lchown"], ["truncate", "open"], ["utimes", "utime"], ["lutimes", "lutime"], ["write", "write"],
  ["writev", "write"], ["fchmod", "fchmod"], ["fchown", "fchown"], ["ftruncate", "ftruncate"], ["futimes", "futime"],
  ["fsync", "fsync"], ["fdatasync", "fdatasync"],
];
const refusedSync = (syscall) => (path) => {
  throw fsError("EACCES", syscall, typeof path === "number" ? undefined : safePath(path));
};
const safePath = (path) => {
  try {
    return toPath(path);
  } catch {
    return String(path);
  }
};

const api = {
  readFileSync, statSync, lstatSync, existsSync, readdirSync, realpathSync, accessSync, readlinkSync, openSync,
  readSync, fstatSync, closeSync,
};
for (const [name, syscall] of WRITES) api[`${name}Sync`] = refusedSync(syscall);

// Callback forms of every synchronous call, answering on a later tick.
function callbackify(sync) {
  return function (...args) {
    const callback = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    if (callback === undefined) {
      const error = new TypeError('The "cb" argument must be of type function. Received undefined');
      error.code = "ERR_INVALID_ARG_TYPE";
      throw error;
    }
    let result;
    let failure = null;
    try {
      result = sync(...args);
    } catch (e) {
      failure = e;
    }
    process.nextTick(() => (failure ? callback(failure) : callback(null, result)));
  };
}
const callbacks = {};
for (const name of Object.keys(api)) {
  if (name.endsWith("Sync") && name !== "existsSync") callbacks[name.slice(0, -4)] = callbackify(api[name]);
}
callbacks.read = function read(fd, buffer, offset, length, position, callback) {
  if (typeof buffer === "function") [callback, buffer] = [buffer, Buffer.alloc(16384)];
  else if (typeof offset === "function") [callback, offset] = [offset, 0];
  try {
    const n = readSync(fd, buffer, offset, length, position);
    process.nextTick(callback, null, n, buffer);
  } catch (e) {
    process.nextTick(callback, e);
  }
};
callbacks.exists = (path, callback) => process.nextTick(callback, existsSync(path));
callbacks.realpath.native = callbacks.realpath;

function createReadStream(path, options) {
  const { Readable } = require("stream");
  const opts = typeof options === "string" ? { encoding: options } : options ?? {};
  const stream = new Readable({ highWaterMark: opts.highWaterMark ?? 65536, encoding: opts.encoding, read() {} });
  stream.path = toPath(path);
  stream.bytesRead = 0;
  process.nextTick(() => {
    try {
      let bytes = host(op_chatfn_fs_read, "open", path);
      bytes = bytes.subarray(opts.start ?? 0, opts.end === undefined ? undefined : opts.end + 1);
      stream.emit("open", 10);
      stream.emit("ready");
      const size = opts.highWaterMark ?? 65536;
      for (let i = 0; i < bytes.length; i += size) {
        const chunk = Buffer.from(bytes.subarray(i, i + size));
        stream.bytesRead += chunk.length;
        stream.push(chunk);
      }
      stream.push(null);
    } catch (e) {
      stream.destroy(e);
    }
  });
  return stream;
}
function createWriteStream(path) {
  throw fsError("EACCES", "open", safePath(path));
}
const unavailable = internal.lib("errors").unavailable;

function makePromises() {
  const promises = {};
  for (const name of Object.keys(api)) {
    if (!name.endsWith("Sync") || name === "existsSync" || /^(open|read|fstat|close)Sync$/.test(name)) continue;
    const sync = api[name];
    promises[name.slice(0, -4)] = async (...args) => sync(...args);
  }
  promises.open = async (path, flags) => {
    const fd = openSync(path, flags);
    return {
      fd,
      readFile: async (options) => readFd(fd, encodingOf(options)),
      read: async (buffer, offset, length, position) => ({ bytesRead: readSync(fd, buffer, offset, length, position), buffer }),
      stat: async () => fstatSync(fd),
      close: async () => closeSync(fd),
      [Symbol.asyncDispose]: async () => descriptors.has(fd) && closeSync(fd),
    };
  };
  promises.constants = constants;
  return promises;
}
let promisesApi;

module.exports = {
  ...api,
  ...callbacks,
  constants,
  Stats,
  Dirent,
  createReadStream,
  createWriteStream,
  watch: unavailable("fs.watch"),
  watchFile: unavailable("fs.watchFile"),
  unwatchFile() {},
  get promises() {
    return (promisesApi ??= makePromises());
  },
  F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1,
};
0 && (module.exports = {
  readFileSync, statSync, lstatSync, existsSync, readdirSync, realpathSync, accessSync, readlinkSync, openSync, readSync,
  fstatSync, closeSync, writeFileSync, appendFileSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, unlinkSync,
  renameSync, copyFileSync, cpSync, symlinkSync, linkSync, chmodSync, chownSync, truncateSync, utimesSync, writeSync,
  readFile, stat, lstat, exists, readdir, realpath, access, readlink, open, read, fstat, close, writeFile, appendFile,
  mkdir, mkdtemp, rm, rmdir, unlink, rename, copyFile, cp, symlink, link, chmod, chown, truncate, utimes, write,
  constants, Stats, Dirent, createReadStream, createWriteStream, watch, watchFile, unwatchFile, promises, F_OK, R_OK,
  W_OK, X_OK,
});
