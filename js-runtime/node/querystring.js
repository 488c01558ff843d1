// node:querystring
"use strict";

const escape = (s) => encodeURIComponent(s);
function unescape(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
}
function stringifyValue(v) {
  if (typeof v === "string") return v;
  if (typeof v === "number" && isFinite(v)) return String(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  return "";
}
function stringify(obj, sep = "&", eq = "=", options) {
  const encode = options?.encodeURIComponent ?? escape;
  if (obj === null || typeof obj !== "object") return "";
  const parts = [];
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) parts.push(`${encode(stringifyValue(key))}${eq}${encode(stringifyValue(v))}`);
  }
  return parts.join(sep);
}
function parse(str, sep = "&", eq = "=", options) {
  const decode = options?.decodeURIComponent ?? unescape;
  const maxKeys = options?.maxKeys ?? 1000;
  const out = Object.create(null);
  if (typeof str !== "string" || str.length === 0) return out;
  let parts = str.split(sep);
  if (maxKeys > 0) parts = parts.slice(0, maxKeys);
  for (const part of parts) {
    if (!part) continue;
    const i = part.indexOf(eq);
    const key = decode((i >= 0 ? part.slice(0, i) : part).replace(/\+/g, " "));
    const value = decode((i >= 0 ? part.slice(i + eq.length) : "").replace(/\+/g, " "));
    if (Object.prototype.hasOwnProperty.call(out, key)) {
      const existing = out[key];
      out[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    } else out[key] = value;
  }
  return out;
}
const decode = parse;
const encode = stringify;
const unescapeBuffer = (s) => Buffer.from(unescape(s));
module.exports = { parse, stringify, decode, encode, escape, unescape, unescapeBuffer };
