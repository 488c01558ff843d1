// node:buffer: Node's Buffer as browserify ships it (the `buffer` package),
// with what Node adds: base64url, fast UTF-8 and base64 through V8,
// Blob/File, atob/btoa, isUtf8/isAscii, transcode.
"use strict";

const vendored = internal.vendor("buffer");
const { Buffer } = vendored;
const { core } = internal;

// base64url: decoding already accepts `-` and `_`; encoding is base64 with
// the URL alphabet and no padding.
const original = {
  toString: Buffer.prototype.toString,
  write: Buffer.prototype.write,
  from: Buffer.from,
  byteLength: Buffer.byteLength,
  isEncoding: Buffer.isEncoding,
  fill: Buffer.prototype.fill,
};
const isUrl = (encoding) => typeof encoding === "string" && encoding.toLowerCase() === "base64url";
const isUtf8 = (encoding) => encoding === undefined || encoding === "utf8" || encoding === "utf-8";

Buffer.prototype.toString = function toString(encoding, start, end) {
  if (isUrl(encoding)) {
    return original.toString.call(this, "base64", start, end).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  if (isUtf8(encoding) && arguments.length <= 1) return core.decode(this);
  return original.toString.apply(this, arguments);
};
Buffer.prototype.toLocaleString = Buffer.prototype.toString;
Buffer.prototype.write = function write(string, offset, length, encoding) {
  if (typeof offset === "string") return this.write(string, 0, this.length, offset);
  if (typeof length === "string") return this.write(string, offset, this.length - (offset ?? 0), length);
  if (isUrl(encoding)) encoding = "base64";
  return original.write.call(this, string, offset, length, encoding);
};
Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === "string") {
    if (isUrl(encodingOrOffset)) encodingOrOffset = "base64";
    if (isUtf8(encodingOrOffset)) {
      const bytes = core.encode(value);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }
  return original.from.call(this, value, encodingOrOffset, length);
};
Buffer.byteLength = function byteLength(value, encoding) {
  if (isUrl(encoding)) encoding = "base64";
  if (typeof value === "string" && isUtf8(encoding)) return core.byteLength(value);
  return original.byteLength.call(this, value, encoding);
};
Buffer.isEncoding = (encoding) => isUrl(encoding) || original.isEncoding(encoding);
Buffer.prototype.fill = function fill(value, offset, end, encoding) {
  if (isUrl(encoding)) encoding = "base64";
  if (typeof offset === "string" && isUrl(offset)) offset = "base64";
  if (typeof end === "string" && isUrl(end)) end = "base64";
  return original.fill.call(this, value, offset, end, encoding);
};
Buffer.copyBytesFrom = function copyBytesFrom(view, offset = 0, length) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const size = view.BYTES_PER_ELEMENT ?? 1;
  const start = offset * size;
  const end = length === undefined ? bytes.length : start + length * size;
  return Buffer.from(bytes.slice(start, end));
};
// Node's Buffer#slice and #subarray share memory and answer Buffers.
if (Buffer.prototype.subarray === Uint8Array.prototype.subarray) {
  Buffer.prototype.subarray = function subarray(start, end) {
    const view = Uint8Array.prototype.subarray.call(this, start, end);
    Object.setPrototypeOf(view, Buffer.prototype);
    return view;
  };
}

const { Blob, File } = globalThis;
const kMaxLength = vendored.kMaxLength;
const constants = Object.freeze({ MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 2 ** 29 - 24 });

function isUtf8Buffer(input) {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}
function isAscii(input) {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 127) return false;
  return true;
}
function transcode(source, from, to) {
  return Buffer.from(Buffer.from(source).toString(from), to);
}
function resolveObjectURL() {
  return undefined;
}

const SlowBuffer = vendored.SlowBuffer;
const INSPECT_MAX_BYTES = 50;
const kStringMaxLength = constants.MAX_STRING_LENGTH;
const atob = globalThis.atob;
const btoa = globalThis.btoa;
module.exports = {
  Buffer, SlowBuffer, Blob, File, constants, kMaxLength, kStringMaxLength, INSPECT_MAX_BYTES, atob, btoa,
  isUtf8: isUtf8Buffer, isAscii, transcode, resolveObjectURL,
};
