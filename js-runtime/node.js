// Node built-ins chat functions may use (a subset; see README) and the
// globals packages commonly expect. The modules are handed to require.js
// through the host object. Runs after buffer.js while the startup snapshot
// is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_digest, op_chatfn_random_bytes } = core.ops;
  const host = globalThis.__chatfnHost;
  const {
    ArrayIsArray,
    ArrayPrototypeJoin,
    ArrayPrototypeMap,
    ArrayPrototypePush,
    ArrayPrototypeSlice,
    Error,
    JSONStringify,
    ObjectCreate,
    ObjectDefineProperty,
    ObjectFreeze,
    ObjectKeys,
    ObjectPrototypeHasOwnProperty,
    Promise,
    String,
    StringPrototypeEndsWith,
    StringPrototypeSlice,
    TypeError,
    Uint8Array,
  } = globalThis.__bootstrap.primordials;

  // ---------------------------------------------------------------------------
  // Globals packages commonly expect.
  // ---------------------------------------------------------------------------
  const { defineGlobal } = globalThis.__chatfnHost;

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return core.encode(String(input));
    }
  }
  class TextDecoder {
    constructor(label = "utf-8") {
      const l = String(label).toLowerCase();
      if (l !== "utf-8" && l !== "utf8") throw new RangeError(`The encoding label provided ('${label}') is not supported`);
    }
    get encoding() {
      return "utf-8";
    }
    decode(input = new Uint8Array(0)) {
      const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      return core.decode(bytes);
    }
  }

  // Base64 and Latin-1 conversions are Buffer's (buffer.js runs first).
  const { Buffer } = globalThis;
  function btoa(data) {
    const s = String(data);
    if (/[^\u0000-\u00ff]/.test(s)) {
      throw new DOMExceptionLike("The string to be encoded contains characters outside of the Latin1 range.", "InvalidCharacterError");
    }
    return Buffer.from(s, "latin1").toString("base64");
  }
  function atob(data) {
    const s = String(data).replace(/[\t\n\f\r ]/g, "");
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/=]/.test(s) || /=[^=]/.test(s)) {
      throw new DOMExceptionLike("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
    }
    return Buffer.from(s, "base64").toString("latin1");
  }
  class DOMExceptionLike extends Error {
    constructor(message, name) {
      super(message);
      this.name = name;
    }
  }

  function randomBytes(size) {
    if (!Number.isInteger(size) || size < 0 || size > 65536) {
      throw new RangeError(`The value of "size" is out of range: ${size}`);
    }
    return op_chatfn_random_bytes(size);
  }
  function getRandomValues(array) {
    if (!ArrayBuffer.isView(array)) throw new TypeError("getRandomValues expects an integer TypedArray");
    if (array.byteLength > 65536) throw new DOMExceptionLike("The ArrayBufferView's byte length exceeds 65536", "QuotaExceededError");
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  }
  function randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = ArrayPrototypeJoin(ArrayPrototypeMap([...b], (x) => (x + 0x100).toString(16).slice(1)), "");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  defineGlobal("TextEncoder", TextEncoder);
  defineGlobal("TextDecoder", TextDecoder);
  defineGlobal("btoa", btoa);
  defineGlobal("atob", atob);
  defineGlobal("crypto", ObjectFreeze({ getRandomValues, randomUUID }));

  // ---------------------------------------------------------------------------
  // Node built-ins (a subset; see README).
  // ---------------------------------------------------------------------------
  const path = (() => {
    function normalizeParts(parts, absolute) {
      const out = [];
      for (const p of parts) {
        if (p === "" || p === ".") continue;
        if (p === "..") {
          if (out.length && out[out.length - 1] !== "..") out.pop();
          else if (!absolute) ArrayPrototypePush(out, "..");
        } else ArrayPrototypePush(out, p);
      }
      return out;
    }
    const normalize = (p) => {
      if (p === "") return ".";
      const absolute = p[0] === "/";
      const trailing = p[p.length - 1] === "/";
      let out = ArrayPrototypeJoin(normalizeParts(p.split("/"), absolute), "/");
      if (!out && !absolute) out = ".";
      if (out && trailing) out += "/";
      return (absolute ? "/" : "") + out;
    };
    const join = (...parts) => normalize(ArrayPrototypeJoin(parts.filter((p) => p !== ""), "/") || ".");
    const resolve = (...parts) => {
      let resolved = "";
      for (let i = parts.length - 1; i >= 0 && resolved[0] !== "/"; i--) {
        if (parts[i]) resolved = parts[i] + (resolved ? "/" + resolved : "");
      }
      if (resolved[0] !== "/") resolved = "/" + resolved;
      const out = normalize(resolved);
      return out.length > 1 && StringPrototypeEndsWith(out, "/") ? StringPrototypeSlice(out, 0, -1) : out;
    };
    const dirname = (p) => {
      if (!p) return ".";
      const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
      const i = trimmed.lastIndexOf("/");
      if (i === -1) return ".";
      return i === 0 ? "/" : trimmed.slice(0, i);
    };
    const basename = (p, ext) => {
      const base = p.replace(/\/+$/, "").split("/").pop() ?? "";
      return ext && base !== ext && StringPrototypeEndsWith(base, ext) ? base.slice(0, -ext.length) : base;
    };
    const extname = (p) => {
      const base = basename(p);
      const i = base.lastIndexOf(".");
      return i <= 0 ? "" : base.slice(i);
    };
    const relative = (from, to) => {
      const a = resolve(from).split("/").filter(Boolean);
      const b = resolve(to).split("/").filter(Boolean);
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      return ArrayPrototypeJoin([...a.slice(i).map(() => ".."), ...b.slice(i)], "/");
    };
    const parse = (p) => {
      const root = p[0] === "/" ? "/" : "";
      const base = basename(p);
      const ext = extname(p);
      const dir = dirname(p);
      return { root, dir: dir === "." && !p.includes("/") ? "" : dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
    };
    const format = (o) => {
      const dir = o.dir || o.root || "";
      const base = o.base || (o.name || "") + (o.ext || "");
      return dir ? (dir === o.root ? dir + base : `${dir}/${base}`) : base;
    };
    const isAbsolute = (p) => p[0] === "/";
    const api = { sep: "/", delimiter: ":", normalize, join, resolve, dirname, basename, extname, relative, parse, format, isAbsolute, toNamespacedPath: (p) => p };
    api.posix = api;
    return ObjectFreeze(api);
  })();

  const events = (() => {
    class EventEmitter {
      constructor() {
        this._events = ObjectCreate(null);
        this._maxListeners = undefined;
      }
      static get defaultMaxListeners() {
        return 10;
      }
      setMaxListeners(n) {
        this._maxListeners = n;
        return this;
      }
      getMaxListeners() {
        return this._maxListeners ?? 10;
      }
      #list(name) {
        if (!this._events) this._events = ObjectCreate(null);
        return this._events[name] ?? (this._events[name] = []);
      }
      on(name, listener) {
        if (typeof listener !== "function") throw new TypeError('The "listener" argument must be of type function');
        if (this._events?.newListener) this.emit("newListener", name, listener.listener ?? listener);
        ArrayPrototypePush(this.#list(name), listener);
        return this;
      }
      addListener(name, listener) {
        return this.on(name, listener);
      }
      prependListener(name, listener) {
        this.#list(name).unshift(listener);
        return this;
      }
      once(name, listener) {
        const wrapper = (...args) => {
          this.removeListener(name, wrapper);
          return listener.apply(this, args);
        };
        wrapper.listener = listener;
        return this.on(name, wrapper);
      }
      prependOnceListener(name, listener) {
        const wrapper = (...args) => {
          this.removeListener(name, wrapper);
          return listener.apply(this, args);
        };
        wrapper.listener = listener;
        return this.prependListener(name, wrapper);
      }
      off(name, listener) {
        return this.removeListener(name, listener);
      }
      removeListener(name, listener) {
        const list = this._events?.[name];
        if (!list) return this;
        const i = list.findIndex((l) => l === listener || l.listener === listener);
        if (i !== -1) {
          list.splice(i, 1);
          if (!list.length) delete this._events[name];
          if (this._events.removeListener) this.emit("removeListener", name, listener);
        }
        return this;
      }
      removeAllListeners(name) {
        if (name === undefined) this._events = ObjectCreate(null);
        else if (this._events) delete this._events[name];
        return this;
      }
      emit(name, ...args) {
        const list = this._events?.[name];
        if (!list || !list.length) {
          if (name === "error") throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error. (${args[0]})`);
          return false;
        }
        for (const listener of ArrayPrototypeSlice(list)) listener.apply(this, args);
        return true;
      }
      listeners(name) {
        return ArrayPrototypeMap(this._events?.[name] ?? [], (l) => l.listener ?? l);
      }
      rawListeners(name) {
        return ArrayPrototypeSlice(this._events?.[name] ?? []);
      }
      listenerCount(name) {
        return this._events?.[name]?.length ?? 0;
      }
      eventNames() {
        return this._events ? ObjectKeys(this._events) : [];
      }
    }
    EventEmitter.EventEmitter = EventEmitter;
    EventEmitter.once = (emitter, name) =>
      new Promise((resolve, reject) => {
        const onError = (e) => {
          emitter.removeListener(name, onEvent);
          reject(e);
        };
        const onEvent = (...args) => {
          emitter.removeListener("error", onError);
          resolve(args);
        };
        emitter.once(name, onEvent);
        if (name !== "error") emitter.once("error", onError);
      });
    return EventEmitter;
  })();

  const util = (() => {
    const inspect = (value, options) => {
      if (typeof value === "string") return `'${value}'`;
      try {
        return JSONStringify(value, null, options?.compact === false ? 2 : undefined) ?? String(value);
      } catch {
        return String(value);
      }
    };
    const format = (f, ...args) => {
      if (typeof f !== "string") return ArrayPrototypeJoin(ArrayPrototypeMap([f, ...args], (a) => (typeof a === "string" ? a : inspect(a))), " ");
      let i = 0;
      let out = f.replace(/%[sdifjoO%]/g, (token) => {
        if (token === "%%") return "%";
        if (i >= args.length) return token;
        const a = args[i++];
        switch (token) {
          case "%s": return typeof a === "string" ? a : typeof a === "object" && a !== null ? inspect(a) : String(a);
          case "%d": case "%i": return String(token === "%i" ? Math.trunc(Number(a)) : Number(a));
          case "%f": return String(Number(a));
          case "%j": return JSONStringify(a);
          default: return inspect(a);
        }
      });
      for (; i < args.length; i++) out += " " + (typeof args[i] === "string" ? args[i] : inspect(args[i]));
      return out;
    };
    const promisify = (fn) => {
      if (typeof fn !== "function") throw new TypeError('The "original" argument must be of type function');
      return (...args) => new Promise((resolve, reject) => fn(...args, (err, value) => (err ? reject(err) : resolve(value))));
    };
    const callbackify = (fn) => (...args) => {
      const callback = args.pop();
      fn(...args).then((v) => callback(null, v), (e) => callback(e));
    };
    const inherits = (ctor, superCtor) => {
      ObjectDefineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
      Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
    };
    const deprecate = (fn) => fn;
    const tag = (v) => Object.prototype.toString.call(v);
    const types = {
      isDate: (v) => tag(v) === "[object Date]",
      isRegExp: (v) => tag(v) === "[object RegExp]",
      isPromise: (v) => v instanceof Promise,
      isMap: (v) => v instanceof Map,
      isSet: (v) => v instanceof Set,
      isTypedArray: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
      isUint8Array: (v) => v instanceof Uint8Array,
      isArrayBuffer: (v) => v instanceof ArrayBuffer,
      isAsyncFunction: (v) => tag(v) === "[object AsyncFunction]",
      isGeneratorFunction: (v) => tag(v) === "[object GeneratorFunction]" || tag(v) === "[object AsyncGeneratorFunction]",
      isNativeError: (v) => v instanceof Error,
    };
    return ObjectFreeze({
      format, inspect, promisify, callbackify, inherits, deprecate, types,
      isArray: ArrayIsArray, isDeepStrictEqual: (a, b) => deepEqual(a, b, true),
      TextEncoder, TextDecoder,
    });
  })();

  function deepEqual(a, b, strict) {
    if (strict ? Object.is(a, b) : a == b) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
    const ka = ObjectKeys(a);
    const kb = ObjectKeys(b);
    if (ka.length !== kb.length) return false;
    for (const k of ka) {
      if (!ObjectPrototypeHasOwnProperty(b, k) || !deepEqual(a[k], b[k], strict)) return false;
    }
    return true;
  }

  const assert = (() => {
    class AssertionError extends Error {
      constructor(options) {
        super(options.message);
        this.name = "AssertionError";
        this.code = "ERR_ASSERTION";
        this.actual = options.actual;
        this.expected = options.expected;
        this.operator = options.operator;
      }
    }
    const fail = (message, actual, expected, operator, fallback) => {
      if (message instanceof Error) throw message;
      throw new AssertionError({ message: message ?? fallback, actual, expected, operator });
    };
    const ok = (value, message) => value || fail(message, value, true, "==", "The expression evaluated to a falsy value");
    const assert = (value, message) => ok(value, message);
    assert.ok = ok;
    assert.AssertionError = AssertionError;
    assert.fail = (message = "Failed") => fail(message, undefined, undefined, "fail", message);
    assert.equal = (a, b, m) => a == b || fail(m, a, b, "==", `${inspectShort(a)} == ${inspectShort(b)}`);
    assert.notEqual = (a, b, m) => a != b || fail(m, a, b, "!=", `${inspectShort(a)} != ${inspectShort(b)}`);
    assert.strictEqual = (a, b, m) => Object.is(a, b) || fail(m, a, b, "strictEqual", `Expected values to be strictly equal:\n\n${inspectShort(a)} !== ${inspectShort(b)}`);
    assert.notStrictEqual = (a, b, m) => !Object.is(a, b) || fail(m, a, b, "notStrictEqual", `Expected "actual" to be strictly unequal to: ${inspectShort(b)}`);
    assert.deepEqual = (a, b, m) => deepEqual(a, b, false) || fail(m, a, b, "deepEqual", "Expected values to be loosely deep-equal");
    assert.deepStrictEqual = (a, b, m) => deepEqual(a, b, true) || fail(m, a, b, "deepStrictEqual", "Expected values to be strictly deep-equal");
    assert.notDeepStrictEqual = (a, b, m) => !deepEqual(a, b, true) || fail(m, a, b, "notDeepStrictEqual", "Expected \"actual\" not to be strictly deep-equal to \"expected\"");
    assert.throws = (fn, expected, m) => {
      try {
        fn();
      } catch (e) {
        if (typeof expected === "function" && expected.prototype !== undefined && !(e instanceof expected)) throw e;
        if (expected instanceof RegExp && !expected.test(String(e?.message ?? e))) throw e;
        return;
      }
      fail(typeof expected === "string" ? expected : m, undefined, expected, "throws", "Missing expected exception.");
    };
    assert.rejects = async (p, expected, m) => {
      try {
        await (typeof p === "function" ? p() : p);
      } catch (e) {
        if (typeof expected === "function" && expected.prototype !== undefined && !(e instanceof expected)) throw e;
        return;
      }
      fail(m, undefined, expected, "rejects", "Missing expected rejection.");
    };
    assert.doesNotThrow = (fn, m) => {
      try {
        fn();
      } catch (e) {
        fail(m, e, undefined, "doesNotThrow", `Got unwanted exception.\nActual message: "${e?.message}"`);
      }
    };
    assert.match = (s, re, m) => re.test(s) || fail(m, s, re, "match", `The input did not match the regular expression ${re}`);
    assert.strict = assert;
    return assert;
  })();
  const inspectShort = (v) => (typeof v === "string" ? `'${v}'` : util.inspect(v));

  const querystring = (() => {
    const escape = (s) => encodeURIComponent(s);
    const unescape = (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    const stringifyValue = (v) => (typeof v === "string" ? v : typeof v === "number" && isFinite(v) ? String(v) : typeof v === "boolean" || typeof v === "bigint" ? String(v) : "");
    const stringify = (obj, sep = "&", eq = "=") => {
      if (obj === null || typeof obj !== "object") return "";
      const parts = [];
      for (const key of ObjectKeys(obj)) {
        const value = obj[key];
        const values = ArrayIsArray(value) ? value : [value];
        for (const v of values) ArrayPrototypePush(parts, `${escape(key)}${eq}${escape(stringifyValue(v))}`);
      }
      return ArrayPrototypeJoin(parts, sep);
    };
    const parse = (str, sep = "&", eq = "=") => {
      const out = ObjectCreate(null);
      if (typeof str !== "string" || str.length === 0) return out;
      for (const part of str.split(sep)) {
        if (!part) continue;
        const i = part.indexOf(eq);
        const key = unescape((i >= 0 ? part.slice(0, i) : part).replace(/\+/g, " "));
        const value = unescape((i >= 0 ? part.slice(i + eq.length) : "").replace(/\+/g, " "));
        if (ObjectPrototypeHasOwnProperty(out, key)) {
          const existing = out[key];
          out[key] = ArrayIsArray(existing) ? [...existing, value] : [existing, value];
        } else out[key] = value;
      }
      return out;
    };
    return ObjectFreeze({ parse, stringify, decode: parse, encode: stringify, escape, unescape });
  })();

  const timers = ObjectFreeze({
    setTimeout: (...a) => globalThis.setTimeout(...a),
    clearTimeout: (...a) => globalThis.clearTimeout(...a),
    setInterval: (...a) => globalThis.setInterval(...a),
    clearInterval: (...a) => globalThis.clearInterval(...a),
    setImmediate: (cb, ...args) => globalThis.setTimeout(cb, 0, ...args),
    clearImmediate: (id) => globalThis.clearTimeout(id),
  });

  const cryptoModule = (() => {
    const toBytes = (data, encoding) => {
      if (typeof data === "string") return Buffer.from(data, encoding ?? "utf8");
      if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (data instanceof ArrayBuffer) return new Uint8Array(data);
      throw new TypeError('The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView');
    };
    // As in Node: a Buffer, or a string in the asked encoding.
    const encodeOutput = (bytes, encoding) => {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return encoding === undefined ? buffer : buffer.toString(encoding);
    };
    const ALGORITHMS = { md5: "md5", sha1: "sha1", sha256: "sha256", sha512: "sha512", "sha-1": "sha1", "sha-256": "sha256", "sha-512": "sha512" };
    class Hash {
      #algorithm;
      #key;
      #chunks = [];
      #done = false;
      constructor(algorithm, key) {
        const a = ALGORITHMS[String(algorithm).toLowerCase()];
        if (!a) throw new Error(`Digest method not supported: ${algorithm}`);
        this.#algorithm = a;
        this.#key = key;
      }
      update(data, encoding) {
        if (this.#done) throw new Error("Digest already called");
        ArrayPrototypePush(this.#chunks, toBytes(data, encoding));
        return this;
      }
      digest(encoding) {
        if (this.#done) throw new Error("Digest already called");
        this.#done = true;
        let length = 0;
        for (const c of this.#chunks) length += c.length;
        const all = new Uint8Array(length);
        let offset = 0;
        for (const c of this.#chunks) {
          all.set(c, offset);
          offset += c.length;
        }
        return encodeOutput(op_chatfn_digest(this.#algorithm, this.#key ?? null, all), encoding);
      }
    }
    return ObjectFreeze({
      createHash: (algorithm) => new Hash(algorithm, undefined),
      createHmac: (algorithm, key) => new Hash(algorithm, toBytes(key)),
      randomBytes: (size, callback) => {
        const random = randomBytes(size);
        const bytes = Buffer.from(random.buffer, random.byteOffset, random.byteLength);
        if (typeof callback === "function") {
          queueMicrotask(() => callback(null, bytes));
          return undefined;
        }
        return bytes;
      },
      randomUUID,
      getRandomValues,
      webcrypto: globalThis.crypto,
      getHashes: () => ["md5", "sha1", "sha256", "sha512"],
    });
  })();

  // Node's legacy `url.parse`/`url.format` over WHATWG URL, plus the URL classes.
  const urlModule = (() => {
    const { URL, URLSearchParams } = globalThis;
    const parse = (input, parseQuery = false) => {
      const text = String(input);
      const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text);
      const u = new URL(text, absolute ? undefined : "relative:///");
      const search = u.search;
      return {
        protocol: absolute ? u.protocol : null,
        slashes: absolute ? /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text) : null,
        auth: u.username ? (u.password ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : decodeURIComponent(u.username)) : null,
        host: absolute ? u.host : null,
        port: u.port || null,
        hostname: absolute ? u.hostname : null,
        hash: u.hash || null,
        search: search || null,
        query: parseQuery ? querystring.parse(search.slice(1)) : (search.slice(1) || null),
        pathname: absolute || text.startsWith("/") ? u.pathname : u.pathname.slice(1),
        path: (absolute || text.startsWith("/") ? u.pathname : u.pathname.slice(1)) + search,
        href: absolute ? u.href : text,
      };
    };
    const format = (o) => {
      if (o instanceof URL) return o.href;
      if (typeof o === "string") return o;
      const protocol = o.protocol ? (o.protocol.endsWith(":") ? o.protocol : `${o.protocol}:`) : "";
      const auth = o.auth ? `${o.auth}@` : "";
      const host = o.host ?? (o.hostname ? o.hostname + (o.port ? `:${o.port}` : "") : "");
      const slashes = o.slashes || /^(https?|ftp|file|wss?):$/.test(protocol) ? "//" : "";
      const search = o.search ?? (o.query && typeof o.query === "object" ? `?${querystring.stringify(o.query)}` : o.query ? `?${o.query}` : "");
      return `${protocol}${host || auth ? slashes : ""}${auth}${host}${o.pathname ?? ""}${search}${o.hash ?? ""}`;
    };
    const fileURLToPath = (u) => {
      const url = typeof u === "string" ? new URL(u) : u;
      if (url.protocol !== "file:") throw new TypeError("The URL must be of scheme file");
      return decodeURIComponent(url.pathname);
    };
    const pathToFileURL = (p) => new URL(`file://${path.resolve(p)}`);
    return ObjectFreeze({ URL, URLSearchParams, parse, format, resolve: (from, to) => new URL(to, new URL(from, "resolve://")).href.replace(/^resolve:\/\//, ""), fileURLToPath, pathToFileURL });
  })();

  host.nodeModules = {
    ...host.nodeModules,
    url: urlModule,
    assert,
    crypto: cryptoModule,
    events,
    path,
    "path/posix": path,
    process: globalThis.process,
    querystring,
    timers,
    util,
  };
})(globalThis);
