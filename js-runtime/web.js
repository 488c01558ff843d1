// The web platform globals Node 22 has and packages expect: TextEncoder and
// TextDecoder, atob/btoa, crypto.getRandomValues/randomUUID, DOMException,
// Event/EventTarget, AbortController/AbortSignal, structuredClone,
// performance, navigator, Blob and File. Runs after bootstrap.js while the
// startup snapshot is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_random_bytes, op_chatfn_now } = core.ops;
  const {
    ArrayPrototypeIndexOf,
    ArrayPrototypePush,
    ArrayPrototypeSlice,
    ArrayPrototypeSplice,
    Error,
    ObjectDefineProperty,
    ObjectFreeze,
    RangeError,
    SafeMap,
    String,
    Symbol,
    TypeError,
    Uint8Array,
  } = globalThis.__bootstrap.primordials;
  const { defineGlobal } = globalThis.__chatfnHost;

  // ---------------------------------------------------------------------------
  // DOMException
  // ---------------------------------------------------------------------------
  const DOM_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
    InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17,
    SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22,
    TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends Error {
    #name;
    constructor(message = "", options = "Error") {
      super(String(message), typeof options === "object" && options !== null && "cause" in options ? { cause: options.cause } : undefined);
      this.#name = typeof options === "object" && options !== null ? String(options.name ?? "Error") : String(options);
    }
    get name() {
      return this.#name;
    }
    get code() {
      return DOM_CODES[this.#name] ?? 0;
    }
  }
  for (const [name, code] of Object.entries(DOM_CODES)) {
    const constant = name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase().replace(/_ERROR$/, "_ERR");
    ObjectDefineProperty(DOMException, constant, { value: code, enumerable: true });
  }

  // ---------------------------------------------------------------------------
  // Text encoding
  // ---------------------------------------------------------------------------
  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return core.encode(String(input));
    }
    encodeInto(source, destination) {
      const bytes = core.encode(String(source));
      // Only whole characters are written.
      let written = bytes.length;
      if (written > destination.length) {
        written = destination.length;
        while (written > 0 && (bytes[written] & 0xc0) === 0x80) written--;
      }
      destination.set(bytes.subarray(0, written));
      let read = 0;
      for (let i = 0; i < written; i++) if ((bytes[i] & 0xc0) !== 0x80) read += bytes[i] >= 0xf0 ? 2 : 1;
      return { read, written };
    }
  }
  const ENCODINGS = {
    "utf-8": "utf-8", utf8: "utf-8", "unicode-1-1-utf-8": "utf-8",
    "utf-16le": "utf-16le", "utf-16": "utf-16le", ucs2: "utf-16le", "ucs-2": "utf-16le",
    latin1: "windows-1252", "iso-8859-1": "windows-1252", ascii: "windows-1252", "us-ascii": "windows-1252",
    "windows-1252": "windows-1252",
  };
  const toBytes = (input) => {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && input instanceof SharedArrayBuffer)) {
      return new Uint8Array(input);
    }
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
  };
  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #pending = null;
    constructor(label = "utf-8", options = {}) {
      const encoding = ENCODINGS[String(label).trim().toLowerCase()];
      if (encoding === undefined) {
        const error = new RangeError(`The "${label}" encoding is not supported`);
        error.code = "ERR_ENCODING_NOT_SUPPORTED";
        throw error;
      }
      this.#encoding = encoding;
      this.#fatal = Boolean(options?.fatal);
      this.#ignoreBOM = Boolean(options?.ignoreBOM);
    }
    get encoding() {
      return this.#encoding;
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input, options = {}) {
      let bytes = toBytes(input);
      if (this.#pending) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      if (this.#encoding === "utf-16le") {
        let out = "";
        const end = bytes.length - (bytes.length % 2);
        for (let i = 0; i < end; i += 2) out += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
        if (options?.stream && end < bytes.length) this.#pending = bytes.slice(end);
        return !this.#ignoreBOM && out.charCodeAt(0) === 0xfeff ? out.slice(1) : out;
      }
      if (this.#encoding === "windows-1252") {
        let out = "";
        for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
        return out;
      }
      if (options?.stream) {
        // Keep an incomplete trailing sequence for the next call.
        let cut = bytes.length;
        for (let i = Math.max(0, bytes.length - 3); i < bytes.length; i++) {
          const b = bytes[i];
          const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
          if (need > 1 && i + need > bytes.length) {
            cut = i;
            break;
          }
        }
        if (cut < bytes.length) {
          this.#pending = bytes.slice(cut);
          bytes = bytes.subarray(0, cut);
        }
      }
      if (!this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      if (this.#fatal && !isWellFormedUtf8(bytes)) {
        const error = new TypeError("The encoded data was not valid for encoding utf-8");
        error.code = "ERR_ENCODING_INVALID_ENCODED_DATA";
        throw error;
      }
      return core.decode(bytes);
    }
  }
  function isWellFormedUtf8(bytes) {
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
      if (need < 0 || i + need >= bytes.length + (need === 0 ? 1 : 0)) return false;
      for (let j = 1; j <= need; j++) if ((bytes[i + j] & 0xc0) !== 0x80) return false;
      i += need + 1;
    }
    return true;
  }

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function btoa(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    const s = String(data);
    let out = "";
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) {
        throw new DOMException("Invalid character", "InvalidCharacterError");
      }
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
      out += i + 1 < s.length ? B64[(n >> 6) & 63] : "=";
      out += i + 2 < s.length ? B64[n & 63] : "=";
    }
    return out;
  }
  function atob(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    let s = String(data).replace(/[\t\n\f\r ]/g, "");
    if (s.length % 4 === 0) s = s.replace(/==?$/, "");
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
      throw new DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
    }
    let out = "";
    let bits = 0, value = 0;
    for (let i = 0; i < s.length; i++) {
      value = (value << 6) | B64.indexOf(s[i]);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((value >> bits) & 255);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------
  // crypto (the Web Crypto global; node:crypto adds the rest)
  // ---------------------------------------------------------------------------
  function getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
      throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
    }
    if (array.byteLength > 65536) {
      throw new DOMException(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`, "QuotaExceededError");
    }
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(op_chatfn_random_bytes(array.byteLength));
    return array;
  }
  function randomUUID() {
    const b = op_chatfn_random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = "";
    for (let i = 0; i < 16; i++) hex += (b[i] + 0x100).toString(16).slice(1);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  // `subtle` (and CryptoKey) load on first use, with node:crypto under them.
  const host = globalThis.__chatfnHost;
  const crypto = {
    getRandomValues,
    randomUUID,
    get subtle() {
      return host.lib("webcrypto").subtle;
    },
  };

  // ---------------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------------
  const kStop = Symbol("stopImmediatePropagation");
  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #defaultPrevented = false;
    #timeStamp = op_chatfn_now();
    constructor(type, options = {}) {
      if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
      this.#type = String(type);
      this.#bubbles = Boolean(options?.bubbles);
      this.#cancelable = Boolean(options?.cancelable);
      this.#composed = Boolean(options?.composed);
      this[kStop] = false;
      this.target = null;
      this.currentTarget = null;
      this.eventPhase = 0;
      this.isTrusted = false;
    }
    get type() {
      return this.#type;
    }
    get bubbles() {
      return this.#bubbles;
    }
    get cancelable() {
      return this.#cancelable;
    }
    get composed() {
      return this.#composed;
    }
    get defaultPrevented() {
      return this.#defaultPrevented;
    }
    get timeStamp() {
      return this.#timeStamp;
    }
    get srcElement() {
      return this.target;
    }
    get returnValue() {
      return !this.#defaultPrevented;
    }
    get cancelBubble() {
      return this[kStop];
    }
    composedPath() {
      return this.currentTarget ? [this.currentTarget] : [];
    }
    preventDefault() {
      if (this.#cancelable) this.#defaultPrevented = true;
    }
    stopPropagation() {}
    stopImmediatePropagation() {
      this[kStop] = true;
    }
  }
  ObjectDefineProperty(Event, "NONE", { value: 0 });
  ObjectDefineProperty(Event, "CAPTURING_PHASE", { value: 1 });
  ObjectDefineProperty(Event, "AT_TARGET", { value: 2 });
  ObjectDefineProperty(Event, "BUBBLING_PHASE", { value: 3 });

  class CustomEvent extends Event {
    #detail;
    constructor(type, options = {}) {
      super(type, options);
      this.#detail = options?.detail ?? null;
    }
    get detail() {
      return this.#detail;
    }
  }

  const kListeners = Symbol("listeners");
  class EventTarget {
    constructor() {
      this[kListeners] = new SafeMap();
    }
    addEventListener(type, listener, options = {}) {
      if (listener === null || listener === undefined) return;
      const once = typeof options === "object" && Boolean(options?.once);
      const capture = typeof options === "boolean" ? options : Boolean(options?.capture);
      const signal = typeof options === "object" ? options?.signal : undefined;
      if (signal?.aborted) return;
      this[kListeners] ??= new SafeMap();
      let list = this[kListeners].get(type);
      if (list === undefined) this[kListeners].set(type, (list = []));
      if (list.some((entry) => entry.listener === listener && entry.capture === capture)) return;
      const entry = { listener, once, capture };
      ArrayPrototypePush(list, entry);
      signal?.addEventListener("abort", () => this.removeEventListener(type, listener, options), { once: true });
    }
    removeEventListener(type, listener, options = {}) {
      const capture = typeof options === "boolean" ? options : Boolean(options?.capture);
      const list = this[kListeners]?.get(type);
      if (list === undefined) return;
      const i = list.findIndex((entry) => entry.listener === listener && entry.capture === capture);
      if (i !== -1) ArrayPrototypeSplice(list, i, 1);
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new TypeError('The "event" argument must be an instance of Event');
      event.target = this;
      event.currentTarget = this;
      event.eventPhase = 2;
      const handler = this[`on${event.type}`];
      const list = ArrayPrototypeSlice(this[kListeners]?.get(event.type) ?? []);
      if (typeof handler === "function" && handler[kListeners] !== true) {
        ArrayPrototypePush(list, { listener: handler, once: false, capture: false, property: true });
      }
      for (const entry of list) {
        if (entry.once) this.removeEventListener(event.type, entry.listener, entry);
        try {
          if (typeof entry.listener === "function") entry.listener.call(this, event);
          else if (typeof entry.listener?.handleEvent === "function") entry.listener.handleEvent(event);
        } catch (error) {
          // As in browsers and Node: a throwing listener does not stop the others.
          queueMicrotask(() => {
            throw error;
          });
        }
        if (event[kStop]) break;
      }
      event.currentTarget = null;
      event.eventPhase = 0;
      return !event.defaultPrevented;
    }
  }

  // ---------------------------------------------------------------------------
  // AbortController / AbortSignal
  // ---------------------------------------------------------------------------
  const kAbort = Symbol("abort");
  const kCreate = Symbol("create");
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    constructor(key) {
      if (key !== kCreate) throw new TypeError("Illegal constructor");
      super();
      this.onabort = null;
    }
    get aborted() {
      return this.#aborted;
    }
    get reason() {
      return this.#reason;
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    [kAbort](reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      this.dispatchEvent(new Event("abort"));
    }
    static abort(reason) {
      const signal = new AbortSignal(kCreate);
      signal[kAbort](reason);
      return signal;
    }
    static timeout(ms) {
      const signal = new AbortSignal(kCreate);
      setTimeout(() => signal[kAbort](new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms).unref();
      return signal;
    }
    static any(signals) {
      const signal = new AbortSignal(kCreate);
      for (const s of signals) {
        if (s.aborted) {
          signal[kAbort](s.reason);
          return signal;
        }
      }
      for (const s of signals) s.addEventListener("abort", () => signal[kAbort](s.reason), { once: true });
      return signal;
    }
  }
  class AbortController {
    #signal = new AbortSignal(kCreate);
    get signal() {
      return this.#signal;
    }
    abort(reason) {
      this.#signal[kAbort](reason);
    }
  }

  // ---------------------------------------------------------------------------
  // performance
  // ---------------------------------------------------------------------------
  const timeOrigin = Date.now() - op_chatfn_now();
  const entries = [];
  class PerformanceEntry {
    constructor(name, entryType, startTime, duration, detail) {
      Object.assign(this, { name, entryType, startTime, duration, detail: detail ?? null });
    }
    toJSON() {
      return { name: this.name, entryType: this.entryType, startTime: this.startTime, duration: this.duration, detail: this.detail };
    }
  }
  const MAX_ENTRIES = 1000;
  const record = (entry) => {
    if (entries.length >= MAX_ENTRIES) entries.shift();
    ArrayPrototypePush(entries, entry);
    return entry;
  };
  const performance = {
    now: () => op_chatfn_now(),
    get timeOrigin() {
      return timeOrigin;
    },
    mark: (name, options) => record(new PerformanceEntry(String(name), "mark", options?.startTime ?? op_chatfn_now(), 0, options?.detail)),
    measure(name, start, end) {
      const at = (m) => (typeof m === "number" ? m : m === undefined ? undefined : entries.findLast((e) => e.name === m)?.startTime ?? 0);
      const options = typeof start === "object" && start !== null ? start : { start, end };
      const from = at(options.start) ?? 0;
      const to = at(options.end) ?? op_chatfn_now();
      return record(new PerformanceEntry(String(name), "measure", from, to - from, options.detail));
    },
    getEntries: () => ArrayPrototypeSlice(entries),
    getEntriesByName: (name, type) => entries.filter((e) => e.name === name && (type === undefined || e.entryType === type)),
    getEntriesByType: (type) => entries.filter((e) => e.entryType === type),
    clearMarks: (name) => removeEntries("mark", name),
    clearMeasures: (name) => removeEntries("measure", name),
    clearResourceTimings() {},
    setResourceTimingBufferSize() {},
    eventLoopUtilization: () => ({ idle: 0, active: 0, utilization: 0 }),
    timerify: (fn) => fn,
    toJSON: () => ({ timeOrigin }),
  };
  function removeEntries(type, name) {
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i].entryType === type && (name === undefined || entries[i].name === name)) ArrayPrototypeSplice(entries, i, 1);
    }
  }

  // ---------------------------------------------------------------------------
  // Blob and File (in memory)
  // ---------------------------------------------------------------------------
  const kBytes = Symbol("bytes");
  class Blob {
    #type;
    constructor(parts = [], options = {}) {
      const chunks = [];
      for (const part of parts) {
        if (part instanceof Blob) ArrayPrototypePush(chunks, part[kBytes]);
        else if (typeof part === "string") ArrayPrototypePush(chunks, core.encode(part));
        else if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) ArrayPrototypePush(chunks, toBytes(part).slice());
        else ArrayPrototypePush(chunks, core.encode(String(part)));
      }
      let size = 0;
      for (const c of chunks) size += c.length;
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const c of chunks) {
        bytes.set(c, offset);
        offset += c.length;
      }
      this[kBytes] = bytes;
      this.#type = /^[\x20-\x7e]*$/.test(String(options?.type ?? "")) ? String(options?.type ?? "").toLowerCase() : "";
    }
    get size() {
      return this[kBytes].length;
    }
    get type() {
      return this.#type;
    }
    slice(start = 0, end = this.size, type = "") {
      const blob = new Blob([], { type });
      blob[kBytes] = this[kBytes].slice(start, end);
      return blob;
    }
    async arrayBuffer() {
      return this[kBytes].slice().buffer;
    }
    async bytes() {
      return this[kBytes].slice();
    }
    async text() {
      return core.decode(this[kBytes]);
    }
    stream() {
      const bytes = this[kBytes];
      return new globalThis.ReadableStream({
        start(controller) {
          controller.enqueue(bytes.slice());
          controller.close();
        },
      });
    }
    get [Symbol.toStringTag]() {
      return "Blob";
    }
  }
  class File extends Blob {
    #name;
    #lastModified;
    constructor(parts, name, options = {}) {
      super(parts, options);
      this.#name = String(name);
      this.#lastModified = options?.lastModified ?? Date.now();
    }
    get name() {
      return this.#name;
    }
    get lastModified() {
      return this.#lastModified;
    }
    get [Symbol.toStringTag]() {
      return "File";
    }
  }

  // FormData (entries of strings and Files; fetch sends it as multipart/form-data).
  const kEntries = Symbol("entries");
  const toEntryValue = (value, filename) => {
    if (value instanceof Blob) {
      if (filename !== undefined || !(value instanceof File)) {
        return new File([value], filename ?? (value instanceof File ? value.name : "blob"), { type: value.type });
      }
      return value;
    }
    return String(value);
  };
  class FormData {
    constructor(form) {
      if (form !== undefined) throw new TypeError("FormData takes no form element here");
      this[kEntries] = [];
    }
    append(name, value, filename) {
      ArrayPrototypePush(this[kEntries], [String(name), toEntryValue(value, filename)]);
    }
    set(name, value, filename) {
      const key = String(name);
      const entry = [key, toEntryValue(value, filename)];
      const i = this[kEntries].findIndex(([n]) => n === key);
      this[kEntries] = this[kEntries].filter(([n], j) => n !== key || j === i);
      if (i === -1) ArrayPrototypePush(this[kEntries], entry);
      else this[kEntries][this[kEntries].findIndex(([n]) => n === key)] = entry;
    }
    get(name) {
      return this[kEntries].find(([n]) => n === String(name))?.[1] ?? null;
    }
    getAll(name) {
      return this[kEntries].filter(([n]) => n === String(name)).map(([, v]) => v);
    }
    has(name) {
      return this[kEntries].some(([n]) => n === String(name));
    }
    delete(name) {
      this[kEntries] = this[kEntries].filter(([n]) => n !== String(name));
    }
    forEach(callback, thisArg) {
      for (const [name, value] of this[kEntries]) callback.call(thisArg, value, name, this);
    }
    *entries() {
      yield* ArrayPrototypeSlice(this[kEntries]);
    }
    *keys() {
      for (const [name] of this[kEntries]) yield name;
    }
    *values() {
      for (const [, value] of this[kEntries]) yield value;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "FormData";
    }
  }
  /** The multipart/form-data body of a FormData and its content type. */
  function encodeFormData(form) {
    const boundary = `----formdata-chatfn-${randomUUID().replaceAll("-", "")}`;
    const escape = (s) => s.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
    const parts = [];
    for (const [name, value] of form[kEntries]) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"`;
      if (value instanceof File) {
        head += `; filename="${escape(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
        ArrayPrototypePush(parts, core.encode(head), value[kBytes], core.encode("\r\n"));
      } else {
        ArrayPrototypePush(parts, core.encode(`${head}\r\n\r\n${value.replace(/\r?\n|\r/g, "\r\n")}\r\n`));
      }
    }
    ArrayPrototypePush(parts, core.encode(`--${boundary}--\r\n`));
    let size = 0;
    for (const p of parts) size += p.length;
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    return [bytes, `multipart/form-data; boundary=${boundary}`];
  }

  function structuredClone(value, options) {
    return core.structuredClone(value);
  }

  defineGlobal("DOMException", DOMException);
  defineGlobal("TextEncoder", TextEncoder);
  defineGlobal("TextDecoder", TextDecoder);
  defineGlobal("btoa", btoa);
  defineGlobal("atob", atob);
  defineGlobal("crypto", crypto);
  ObjectDefineProperty(globalThis, "CryptoKey", {
    get: () => host.lib("webcrypto").CryptoKey,
    enumerable: false,
    configurable: true,
  });
  defineGlobal("Event", Event);
  defineGlobal("CustomEvent", CustomEvent);
  defineGlobal("EventTarget", EventTarget);
  defineGlobal("AbortController", AbortController);
  defineGlobal("AbortSignal", AbortSignal);
  defineGlobal("performance", performance);
  defineGlobal("Blob", Blob);
  defineGlobal("File", File);
  defineGlobal("FormData", FormData);
  defineGlobal("structuredClone", structuredClone);
  defineGlobal("navigator", ObjectFreeze({ hardwareConcurrency: 1, language: "en-US", languages: ObjectFreeze(["en-US"]), platform: "linux", userAgent: "Node.js/22" }));
  globalThis.__chatfnHost.web = { kBytes, Blob, FormData, encodeFormData, PerformanceEntry };
})(globalThis);
