// node:url: the WHATWG URL classes (globals) and Node's legacy
// `url.parse`/`url.format`/`url.resolve` over them.
"use strict";

const querystring = require("querystring");
const path = require("path");
const { URL, URLSearchParams } = globalThis;

class Url {}

function parse(input, parseQueryString = false, slashesDenoteHost = false) {
  if (input instanceof Url) return input;
  if (typeof input !== "string") {
    const error = new TypeError(`The "url" argument must be of type string. Received ${typeof input}`);
    error.code = "ERR_INVALID_ARG_TYPE";
    throw error;
  }
  const text = input.trim();
  const result = new Url();
  const protocolMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*:)/.exec(text);
  let rest = text;
  result.protocol = null;
  result.slashes = null;
  if (protocolMatch) {
    result.protocol = protocolMatch[1].toLowerCase();
    rest = rest.slice(protocolMatch[1].length);
  }
  if (rest.startsWith("//") && (result.protocol || slashesDenoteHost) && result.protocol !== "javascript:") {
    result.slashes = true;
    rest = rest.slice(2);
  }
  result.auth = null;
  result.host = null;
  result.port = null;
  result.hostname = null;
  if (result.slashes || (result.protocol && !/^(mailto|javascript|data|urn|tel|sms|magnet|news):$/.test(result.protocol) && false)) {
    const end = rest.search(/[/?#]/);
    let authority = end === -1 ? rest : rest.slice(0, end);
    rest = end === -1 ? "" : rest.slice(end);
    const at = authority.lastIndexOf("@");
    if (at !== -1) {
      result.auth = decodeURIComponent(authority.slice(0, at));
      authority = authority.slice(at + 1);
    }
    const portMatch = /:(\d*)$/.exec(authority);
    if (portMatch) {
      if (portMatch[1]) result.port = portMatch[1];
      authority = authority.slice(0, portMatch.index);
    }
    result.hostname = authority.toLowerCase();
    result.host = result.hostname + (result.port ? `:${result.port}` : "");
  }
  const hashAt = rest.indexOf("#");
  result.hash = hashAt === -1 ? null : rest.slice(hashAt);
  if (hashAt !== -1) rest = rest.slice(0, hashAt);
  const searchAt = rest.indexOf("?");
  result.search = searchAt === -1 ? null : rest.slice(searchAt);
  const query = searchAt === -1 ? null : rest.slice(searchAt + 1);
  result.query = parseQueryString ? querystring.parse(query ?? "") : query;
  if (parseQueryString && result.search === null) result.search = "";
  rest = searchAt === -1 ? rest : rest.slice(0, searchAt);
  result.pathname = rest || (result.slashes ? "/" : null);
  result.path = (result.pathname ?? "") + (result.search ?? "") || null;
  result.href = format(result);
  return result;
}

function format(o, options) {
  if (typeof o === "string") o = parse(o);
  if (o instanceof URL) {
    if (options && (options.auth === false || options.search === false || options.fragment === false)) {
      const copy = new URL(o.href);
      if (options.auth === false) copy.username = copy.password = "";
      if (options.search === false) copy.search = "";
      if (options.fragment === false) copy.hash = "";
      return copy.href;
    }
    return o.href;
  }
  let protocol = o.protocol || "";
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  let auth = o.auth ? `${encodeURIComponent(o.auth).replace(/%3A/i, ":")}@` : "";
  let host = "";
  if (o.host) host = auth + o.host;
  else if (o.hostname) host = auth + (o.hostname.includes(":") ? `[${o.hostname}]` : o.hostname) + (o.port ? `:${o.port}` : "");
  let pathname = o.pathname || "";
  let search = o.search || (o.query && typeof o.query === "object" && Object.keys(o.query).length ? `?${querystring.stringify(o.query)}` : "");
  if (search && search[0] !== "?") search = `?${search}`;
  let hash = o.hash || "";
  if (hash && hash[0] !== "#") hash = `#${hash}`;
  const slashed = o.slashes || /^(https?|ftp|gopher|file|wss?):$/.test(protocol);
  if (slashed && (host || protocol === "file:")) {
    host = `//${host}`;
    if (pathname && pathname[0] !== "/") pathname = `/${pathname}`;
  }
  return protocol + host + pathname.replace(/[?#]/g, encodeURIComponent) + search.replace("#", "%23") + hash;
}

function resolve(from, to) {
  const base = new URL(from, "resolve://host/");
  const resolved = new URL(to, base);
  if (resolved.protocol === "resolve:") {
    const { pathname, search, hash } = resolved;
    return from.startsWith("/") || !/^[a-z]+:/i.test(from) ? pathname + search + hash : resolved.href;
  }
  return resolved.href;
}
function resolveObject(from, to) {
  return parse(resolve(from, to));
}

function fileURLToPath(u) {
  const url = typeof u === "string" ? new URL(u) : u;
  if (url.protocol !== "file:") {
    const error = new TypeError("The URL must be of scheme file");
    error.code = "ERR_INVALID_URL_SCHEME";
    throw error;
  }
  return decodeURIComponent(url.pathname);
}
function pathToFileURL(p) {
  const resolved = path.resolve(p);
  return new URL(`file://${encodeURI(resolved).replace(/\?/g, "%3F").replace(/#/g, "%23")}${p.endsWith("/") && resolved !== "/" ? "/" : ""}`);
}
function urlToHttpOptions(url) {
  return {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
    port: url.port !== "" ? Number(url.port) : undefined,
    auth: url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
  };
}
const domainToASCII = (d) => {
  try {
    return new URL(`http://${d}`).hostname;
  } catch {
    return "";
  }
};
const domainToUnicode = (d) => require("punycode").toUnicode(d);

module.exports = { URL, URLSearchParams, Url, parse, format, resolve, resolveObject, fileURLToPath, pathToFileURL, urlToHttpOptions, domainToASCII, domainToUnicode };
