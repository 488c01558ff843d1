// fetch: the web-standard shape (`fetch`, `Headers`, `Request`, `Response`)
// over one `op_chatfn_fetch` per request. The host applies the
// application's outbound policy (allow-list, private ranges, budget, time
// limit, size cap) and follows redirects itself, checking every hop.
// Runs after bootstrap.js while the startup snapshot is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_fetch, op_chatfn_zlib_new, op_chatfn_zlib_write } = core.ops;
  const web = globalThis.__chatfnHost.web;
  const { counted } = globalThis.__chatfnHost;
  const {
    ArrayBufferIsView,
    ArrayIsArray,
    ArrayPrototypePush,
    JSONParse,
    JSONStringify,
    MapPrototypeGet,
    MapPrototypeSet,
    MapPrototypeDelete,
    MapPrototypeHas,
    ObjectKeys,
    SafeMap,
    String,
    StringPrototypeToLowerCase,
    StringPrototypeTrim,
    Symbol,
    SymbolIterator,
    TypeError,
    Uint8Array,
  } = globalThis.__bootstrap.primordials;

  // The host's time-out of a request surfaces as a `TimeoutError`.
  core.registerErrorBuilder("TimeoutError", (message) => {
    const error = new Error(message);
    error.name = "TimeoutError";
    return error;
  });

  const encode = (text) => core.encode(text);
  const decode = (bytes) => core.decode(bytes);

  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  function headerName(name) {
    const n = String(name);
    if (!TOKEN.test(n)) throw new TypeError(`Header name is not valid: ${JSONStringify(n)}`);
    return StringPrototypeToLowerCase(n);
  }
  function headerValue(value) {
    const v = StringPrototypeTrim(String(value));
    if (/[\0\r\n]/.test(v)) throw new TypeError(`Header value is not valid: ${JSONStringify(v)}`);
    return v;
  }

  const entriesKey = Symbol("entries");

  class Headers {
    constructor(init = undefined) {
      this[entriesKey] = new SafeMap();
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init) this.append(k, v);
      } else if (ArrayIsArray(init) || typeof init[SymbolIterator] === "function") {
        for (const pair of init) {
          if (pair.length !== 2) throw new TypeError("Headers init pairs must have two items");
          this.append(pair[0], pair[1]);
        }
      } else if (typeof init === "object") {
        for (const key of ObjectKeys(init)) this.append(key, init[key]);
      } else {
        throw new TypeError("Headers init must be an object, an array of pairs or Headers");
      }
    }
    append(name, value) {
      const key = headerName(name);
      const existing = MapPrototypeGet(this[entriesKey], key);
      const v = headerValue(value);
      MapPrototypeSet(this[entriesKey], key, existing === undefined ? v : `${existing}, ${v}`);
    }
    set(name, value) {
      MapPrototypeSet(this[entriesKey], headerName(name), headerValue(value));
    }
    get(name) {
      return MapPrototypeGet(this[entriesKey], headerName(name)) ?? null;
    }
    has(name) {
      return MapPrototypeHas(this[entriesKey], headerName(name));
    }
    delete(name) {
      MapPrototypeDelete(this[entriesKey], headerName(name));
    }
    forEach(callback, thisArg) {
      for (const [k, v] of this) callback.call(thisArg, v, k, this);
    }
    *entries() {
      const keys = [...this[entriesKey].keys()].sort();
      for (const k of keys) yield [k, MapPrototypeGet(this[entriesKey], k)];
    }
    *keys() {
      for (const [k] of this.entries()) yield k;
    }
    *values() {
      for (const [, v] of this.entries()) yield v;
    }
    [SymbolIterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "Headers";
    }
  }

  /** Bytes and a default content type for a request or response body. */
  function extractBody(body) {
    if (body === undefined || body === null) return [null, null];
    if (typeof body === "string") return [encode(body), "text/plain;charset=UTF-8"];
    if (body instanceof ArrayBuffer) return [new Uint8Array(body.slice(0)), null];
    if (ArrayBufferIsView(body)) {
      return [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), null];
    }
    if (globalThis.URLSearchParams && body instanceof globalThis.URLSearchParams) {
      return [encode(body.toString()), "application/x-www-form-urlencoded;charset=UTF-8"];
    }
    if (body instanceof web.FormData) return web.encodeFormData(body);
    if (body instanceof web.Blob) return [body[web.kBytes].slice(), body.type || null];
    // As browsers do, anything else is sent as its string form.
    return [encode(String(body)), "text/plain;charset=UTF-8"];
  }

  const bodyKey = Symbol("body");
  const usedKey = Symbol("used");

  class Body {
    get bodyUsed() {
      return this[usedKey] === true;
    }
    #take() {
      if (this[usedKey]) throw new TypeError("Body has already been consumed");
      this[usedKey] = true;
      return this[bodyKey] ?? new Uint8Array(0);
    }
    async arrayBuffer() {
      const bytes = this.#take();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    async bytes() {
      return new Uint8Array(this.#take());
    }
    async text() {
      return decode(this.#take());
    }
    async blob() {
      return new web.Blob([this.#take()], { type: this.headers?.get("content-type") ?? "" });
    }
    async json() {
      return JSONParse(decode(this.#take()));
    }
  }

  class Request extends Body {
    constructor(input, init = {}) {
      super();
      const base = input instanceof Request ? input : null;
      this.url = base ? base.url : String(input);
      this.method = String(init.method ?? base?.method ?? "GET").toUpperCase();
      this.headers = new Headers(init.headers ?? base?.headers);
      this.redirect = init.redirect ?? base?.redirect ?? "follow";
      this.signal = init.signal ?? base?.signal ?? null;
      const [bytes, contentType] = init.body !== undefined ? extractBody(init.body) : [base?.[bodyKey] ?? null, null];
      if (bytes !== null && (this.method === "GET" || this.method === "HEAD")) {
        throw new TypeError("Request with GET/HEAD method cannot have body");
      }
      if (contentType !== null && !this.headers.has("content-type")) this.headers.set("content-type", contentType);
      this[bodyKey] = bytes;
    }
    clone() {
      return new Request(this);
    }
  }

  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      const [bytes, contentType] = extractBody(body);
      this.status = init.status ?? 200;
      this.statusText = init.statusText ?? "";
      this.headers = new Headers(init.headers);
      if (contentType !== null && !this.headers.has("content-type")) this.headers.set("content-type", contentType);
      this.url = "";
      this.redirected = false;
      this.type = "default";
      this[bodyKey] = bytes;
    }
    get ok() {
      return this.status >= 200 && this.status <= 299;
    }
    clone() {
      if (this[usedKey]) throw new TypeError("Body has already been consumed");
      const copy = new Response(this[bodyKey], { status: this.status, statusText: this.statusText, headers: this.headers });
      copy.url = this.url;
      copy.redirected = this.redirected;
      copy.type = this.type;
      return copy;
    }
    static json(data, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(JSONStringify(data), { ...init, headers });
    }
    static error() {
      const r = new Response(null, { status: 0 });
      r.type = "error";
      return r;
    }
  }

  // As browsers' and Node's fetch do: a compressed answer is decompressed
  // (by the host's zlib codecs) and its encoding headers dropped.
  const DECODERS = { gzip: "unzip", "x-gzip": "unzip", deflate: "inflate", br: "brotliDecompress" };
  const MAX_DECODED_BYTES = 64 * 1024 * 1024;
  function decodeContent(headers, body) {
    const encoding = headers.get("content-encoding")?.trim().toLowerCase();
    const mode = encoding ? DECODERS[encoding] : undefined;
    if (mode === undefined || body === null || body.byteLength === 0) return body;
    const stream = op_chatfn_zlib_new(mode, -1, 11, 22, MAX_DECODED_BYTES);
    let decoded;
    try {
      decoded = op_chatfn_zlib_write(stream, body, 4);
    } catch (e) {
      throw new TypeError(`fetch failed: the ${encoding}-encoded answer could not be decoded (${e.message})`);
    }
    headers.delete("content-encoding");
    headers.delete("content-length");
    return counted(decoded);
  }

  async function fetch(input, init = undefined) {
    const request = new Request(input instanceof Request ? input : String(input?.href ?? input), init ?? {});
    if (request.signal?.aborted) {
      const error = new Error("The operation was aborted");
      error.name = "AbortError";
      throw error;
    }
    const headers = [];
    for (const [name, value] of request.headers) ArrayPrototypePush(headers, [name, value]);
    const answer = await op_chatfn_fetch(
      { url: request.url, method: request.method, headers, redirect: request.redirect },
      request[bodyKey],
    );
    const response = new Response(null, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
    response[bodyKey] = decodeContent(response.headers, counted(answer.body));
    response.url = answer.url;
    response.redirected = answer.redirected;
    response.type = "basic";
    return response;
  }

  const { defineGlobal } = globalThis.__chatfnHost;
  defineGlobal("fetch", fetch);
  defineGlobal("Headers", Headers);
  defineGlobal("Request", Request);
  defineGlobal("Response", Response);
})(globalThis);
