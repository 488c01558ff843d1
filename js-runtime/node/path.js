// node:path (POSIX: chat functions run on a POSIX virtual file system).
"use strict";

function normalizeParts(parts, absolute) {
  const out = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(p);
  }
  return out;
}
function assertPath(p, name = "path") {
  if (typeof p !== "string") {
    const error = new TypeError(`The "${name}" argument must be of type string. Received ${p === null ? "null" : typeof p}`);
    error.code = "ERR_INVALID_ARG_TYPE";
    throw error;
  }
}
function normalize(p) {
  assertPath(p);
  if (p === "") return ".";
  const absolute = p[0] === "/";
  const trailing = p[p.length - 1] === "/";
  let out = normalizeParts(p.split("/"), absolute).join("/");
  if (!out && !absolute) out = ".";
  if (out && trailing) out += "/";
  return (absolute ? "/" : "") + out;
}
function join(...parts) {
  for (const p of parts) assertPath(p);
  return normalize(parts.filter((p) => p !== "").join("/") || ".");
}
function resolve(...parts) {
  let resolved = "";
  for (let i = parts.length - 1; i >= 0 && resolved[0] !== "/"; i--) {
    assertPath(parts[i], `paths[${i}]`);
    if (parts[i]) resolved = parts[i] + (resolved ? "/" + resolved : "");
  }
  if (resolved[0] !== "/") resolved = "/" + resolved;
  const out = normalize(resolved);
  return out.length > 1 && out.endsWith("/") ? out.slice(0, -1) : out;
}
function dirname(p) {
  assertPath(p);
  if (!p) return ".";
  const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
  const i = trimmed.lastIndexOf("/");
  if (i === -1) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i).replace(/\/+$/, "") || "/";
}
function basename(p, ext) {
  assertPath(p);
  const base = p.replace(/\/+$/, "").split("/").pop() ?? "";
  return ext && base !== ext && base.endsWith(ext) ? base.slice(0, -ext.length) : base;
}
function extname(p) {
  const base = basename(p);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}
function relative(from, to) {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}
function parse(p) {
  assertPath(p);
  const root = p[0] === "/" ? "/" : "";
  const base = basename(p);
  const ext = extname(p);
  const dir = dirname(p);
  return { root, dir: dir === "." && !p.includes("/") ? "" : dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
}
function format(o) {
  const dir = o.dir || o.root || "";
  const base = o.base || (o.name || "") + (o.ext ? (o.ext[0] === "." ? o.ext : `.${o.ext}`) : "");
  return dir ? (dir === o.root ? dir + base : `${dir}/${base}`) : base;
}
const isAbsolute = (p) => (assertPath(p), p[0] === "/");
const toNamespacedPath = (p) => p;
function matchesGlob(path, pattern) {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/\u0000/g, ".*") + "$");
  return re.test(path);
}

const sep = "/";
const delimiter = ":";
module.exports = { sep, delimiter, normalize, join, resolve, dirname, basename, extname, relative, parse, format, isAbsolute, toNamespacedPath, matchesGlob, posix: undefined, win32: undefined };
module.exports.posix = module.exports;
// Paths are POSIX here; win32 answers the same, as a best effort.
module.exports.win32 = module.exports;
