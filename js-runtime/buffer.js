// Node's `Buffer` (a Uint8Array with encodings and binary accessors) and
// `StringDecoder`, for handlers and the NPM packages they require. Runs
// after bootstrap.js while the startup snapshot is built; require.js
// serves them as `buffer` and `string_decoder`.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { String, TypeError, RangeError, Uint8Array } = globalThis.__bootstrap.primordials;

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64_INDEX = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
  B64_INDEX["-".charCodeAt(0)] = 62;
  B64_INDEX["_".charCodeAt(0)] = 63;

  function normalizeEncoding(encoding) {
    const e = String(encoding ?? "utf8").toLowerCase();
    switch (e) {
      case "utf8": case "utf-8": return "utf8";
      case "hex": case "base64": case "base64url": case "ascii": return e;
      case "latin1": case "binary": return "latin1";
      case "ucs2": case "ucs-2": case "utf16le": case "utf-16le": return "utf16le";
      default: throw new TypeError(`Unknown encoding: ${encoding}`);
    }
  }

  function encode(string, encoding) {
    const s = String(string);
    switch (normalizeEncoding(encoding)) {
      case "utf8": return core.encode(s);
      case "hex": {
        const bytes = new Uint8Array(s.length >> 1);
        let n = 0;
        for (; n < bytes.length; n++) {
          const byte = parseInt(s.substr(n * 2, 2), 16);
          if (Number.isNaN(byte)) break;
          bytes[n] = byte;
        }
        return bytes.subarray(0, n);
      }
      case "base64": case "base64url": {
        const out = new Uint8Array(Math.ceil(s.length * 3 / 4));
        let bits = 0, value = 0, n = 0;
        for (let i = 0; i < s.length; i++) {
          const v = B64_INDEX[s.charCodeAt(i) & 255];
          if (v === -1 || s.charCodeAt(i) > 255) continue;
          value = (value << 6) | v;
          bits += 6;
          if (bits >= 8) {
            bits -= 8;
            out[n++] = (value >> bits) & 255;
          }
        }
        return out.subarray(0, n);
      }
      case "latin1": case "ascii": {
        const bytes = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 255;
        return bytes;
      }
      case "utf16le": {
        const bytes = new Uint8Array(s.length * 2);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          bytes[i * 2] = c & 255;
          bytes[i * 2 + 1] = c >> 8;
        }
        return bytes;
      }
    }
  }

  function decode(bytes, encoding) {
    switch (normalizeEncoding(encoding)) {
      case "utf8": return core.decode(bytes);
      case "hex": {
        let out = "";
        for (const b of bytes) out += (b + 0x100).toString(16).slice(1);
        return out;
      }
      case "base64": case "base64url": {
        const url = normalizeEncoding(encoding) === "base64url";
        let out = "";
        for (let i = 0; i < bytes.length; i += 3) {
          const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
          out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
          out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : url ? "" : "=";
          out += i + 2 < bytes.length ? B64[n & 63] : url ? "" : "=";
        }
        return url ? out.replace(/\+/g, "-").replace(/\//g, "_") : out;
      }
      case "latin1": {
        let out = "";
        for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
        return out;
      }
      case "ascii": {
        let out = "";
        for (const b of bytes) out += String.fromCharCode(b & 127);
        return out;
      }
      case "utf16le": {
        let out = "";
        for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
        return out;
      }
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") return toBuffer(encode(value, encodingOrOffset));
      if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) {
        const offset = encodingOrOffset ?? 0;
        return new Buffer(value, offset, length ?? value.byteLength - offset);
      }
      if (ArrayBuffer.isView(value)) return toBuffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return toBuffer(Uint8Array.from(value.data));
      if (value && typeof value.length === "number") return toBuffer(Uint8Array.from(value));
      throw new TypeError("The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object");
    }
    static alloc(size, fill, encoding) {
      checkSize(size);
      const buffer = new Buffer(size);
      if (fill !== undefined && fill !== 0) buffer.fill(fill, 0, size, encoding);
      return buffer;
    }
    static allocUnsafe(size) {
      checkSize(size);
      return new Buffer(size);
    }
    static allocUnsafeSlow(size) {
      return Buffer.allocUnsafe(size);
    }
    static isBuffer(value) {
      return value instanceof Buffer;
    }
    static isEncoding(encoding) {
      try {
        normalizeEncoding(encoding);
        return typeof encoding === "string";
      } catch {
        return false;
      }
    }
    static byteLength(value, encoding) {
      if (typeof value !== "string") return value.byteLength;
      return encode(value, encoding).length;
    }
    static concat(list, totalLength) {
      const total = totalLength ?? list.reduce((n, b) => n + b.length, 0);
      const out = Buffer.alloc(total);
      let offset = 0;
      for (const b of list) {
        if (offset >= total) break;
        out.set(b.subarray(0, total - offset), offset);
        offset += Math.min(b.length, total - offset);
      }
      return out;
    }
    static compare(a, b) {
      return a.compare(b);
    }
    toString(encoding = "utf8", start = 0, end = this.length) {
      return decode(this.subarray(start, end), encoding);
    }
    toJSON() {
      return { type: "Buffer", data: Array.from(this) };
    }
    equals(other) {
      return this.compare(other) === 0;
    }
    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) {
        if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      }
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }
    subarray(start, end) {
      const view = Uint8Array.prototype.subarray.call(this, start, end);
      return new Buffer(view.buffer, view.byteOffset, view.length);
    }
    slice(start, end) {
      return this.subarray(start, end);
    }
    write(string, offset = 0, length = this.length - offset, encoding = "utf8") {
      if (typeof offset === "string") [encoding, offset, length] = [offset, 0, this.length];
      const bytes = encode(string, encoding).subarray(0, Math.min(length, this.length - offset));
      this.set(bytes, offset);
      return bytes.length;
    }
    fill(value, start = 0, end = this.length, encoding) {
      if (typeof start === "string") [encoding, start, end] = [start, 0, this.length];
      if (typeof value === "string") {
        const bytes = encode(value, encoding);
        for (let i = start; i < end; i++) this[i] = bytes.length ? bytes[(i - start) % bytes.length] : 0;
        return this;
      }
      return Uint8Array.prototype.fill.call(this, value, start, end);
    }
    indexOf(value, byteOffset = 0, encoding) {
      if (typeof value === "number") return Uint8Array.prototype.indexOf.call(this, value, byteOffset);
      const needle = typeof value === "string" ? encode(value, encoding) : value;
      outer: for (let i = byteOffset; i <= this.length - needle.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    includes(value, byteOffset, encoding) {
      return this.indexOf(value, byteOffset, encoding) !== -1;
    }
    copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
      const bytes = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
      target.set(bytes, targetStart);
      return bytes.length;
    }
    #view() {
      return new DataView(this.buffer, this.byteOffset, this.byteLength);
    }
    readUInt8(o = 0) { return this.#view().getUint8(o); }
    readInt8(o = 0) { return this.#view().getInt8(o); }
    readUInt16LE(o = 0) { return this.#view().getUint16(o, true); }
    readUInt16BE(o = 0) { return this.#view().getUint16(o, false); }
    readInt16LE(o = 0) { return this.#view().getInt16(o, true); }
    readInt16BE(o = 0) { return this.#view().getInt16(o, false); }
    readUInt32LE(o = 0) { return this.#view().getUint32(o, true); }
    readUInt32BE(o = 0) { return this.#view().getUint32(o, false); }
    readInt32LE(o = 0) { return this.#view().getInt32(o, true); }
    readInt32BE(o = 0) { return this.#view().getInt32(o, false); }
    readBigUInt64LE(o = 0) { return this.#view().getBigUint64(o, true); }
    readBigUInt64BE(o = 0) { return this.#view().getBigUint64(o, false); }
    readDoubleLE(o = 0) { return this.#view().getFloat64(o, true); }
    readDoubleBE(o = 0) { return this.#view().getFloat64(o, false); }
    writeUInt8(v, o = 0) { this.#view().setUint8(o, v); return o + 1; }
    writeUInt16LE(v, o = 0) { this.#view().setUint16(o, v, true); return o + 2; }
    writeUInt16BE(v, o = 0) { this.#view().setUint16(o, v, false); return o + 2; }
    writeUInt32LE(v, o = 0) { this.#view().setUint32(o, v, true); return o + 4; }
    writeUInt32BE(v, o = 0) { this.#view().setUint32(o, v, false); return o + 4; }
    writeInt32LE(v, o = 0) { this.#view().setInt32(o, v, true); return o + 4; }
    writeInt32BE(v, o = 0) { this.#view().setInt32(o, v, false); return o + 4; }
    writeDoubleLE(v, o = 0) { this.#view().setFloat64(o, v, true); return o + 8; }
    writeDoubleBE(v, o = 0) { this.#view().setFloat64(o, v, false); return o + 8; }
  }
  for (const alias of ["Uint8", "Uint16LE", "Uint16BE", "Uint32LE", "Uint32BE", "BigUint64LE", "BigUint64BE"]) {
    const read = Buffer.prototype[`read${alias.replace("Uint", "UInt")}`];
    if (read) Buffer.prototype[`read${alias}`] = read;
    const write = Buffer.prototype[`write${alias.replace("Uint", "UInt")}`];
    if (write) Buffer.prototype[`write${alias}`] = write;
  }
  Buffer.poolSize = 8192;

  function toBuffer(bytes) {
    return new Buffer(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  function checkSize(size) {
    if (typeof size !== "number" || size < 0 || size > 2 ** 31 - 1 || !Number.isInteger(size)) {
      throw new RangeError(`The value of "size" is out of range: ${size}`);
    }
  }

  /** Decodes a stream of buffers without splitting a multi-byte UTF-8 character. */
  class StringDecoder {
    #encoding;
    #pending = new Uint8Array(0);
    constructor(encoding = "utf8") {
      this.#encoding = normalizeEncoding(encoding);
    }
    get encoding() {
      return this.#encoding;
    }
    write(chunk) {
      const bytes = typeof chunk === "string" ? encode(chunk, "utf8") : chunk;
      const all = new Uint8Array(this.#pending.length + bytes.length);
      all.set(this.#pending);
      all.set(bytes, this.#pending.length);
      if (this.#encoding !== "utf8") {
        const unit = this.#encoding === "utf16le" ? 2 : this.#encoding.startsWith("base64") ? 3 : 1;
        const keep = all.length % unit;
        this.#pending = all.slice(all.length - keep);
        return decode(all.subarray(0, all.length - keep), this.#encoding);
      }
      // Keep an incomplete trailing UTF-8 sequence for the next write.
      let cut = all.length;
      for (let i = Math.max(0, all.length - 3); i < all.length; i++) {
        const b = all[i];
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (need > 1 && i + need > all.length) {
          cut = i;
          break;
        }
      }
      this.#pending = all.slice(cut);
      return decode(all.subarray(0, cut), "utf8");
    }
    end(chunk) {
      const out = chunk === undefined ? "" : this.write(chunk);
      const rest = this.#pending;
      this.#pending = new Uint8Array(0);
      return out + (rest.length ? decode(rest, this.#encoding) : "");
    }
  }

  const host = globalThis.__chatfnHost;
  host.defineGlobal("Buffer", Buffer);
  // Picked up by require.js as built-in modules.
  host.nodeModules = {
    ...host.nodeModules,
    buffer: Object.freeze({ Buffer, constants: Object.freeze({ MAX_LENGTH: 2 ** 31 - 1 }), kMaxLength: 2 ** 31 - 1 }),
    string_decoder: Object.freeze({ StringDecoder }),
  };
})(globalThis);
