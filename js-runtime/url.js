// WHATWG `URL` and `URLSearchParams`. Parsing and component setters are host
// ops (the `url` crate implements the URL Standard); the search parameters
// are kept here and written back to their URL on every change. Runs after
// bootstrap.js while the startup snapshot is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_url_parse, op_chatfn_url_set } = core.ops;
  const {
    ArrayPrototypeJoin,
    ArrayPrototypeMap,
    ArrayPrototypePush,
    ObjectDefineProperty,
    ObjectKeys,
    String,
    Symbol,
    SymbolIterator,
    TypeError,
    decodeURIComponent,
  } = globalThis.__bootstrap.primordials;

  // application/x-www-form-urlencoded, as the URL Standard serializes it.
  const FORM_SAFE = /[A-Za-z0-9*\-._]/;
  function formEncode(text) {
    let out = "";
    for (const byte of core.encode(String(text))) {
      const ch = String.fromCharCode(byte);
      if (byte === 0x20) out += "+";
      else if (byte < 0x80 && FORM_SAFE.test(ch)) out += ch;
      else out += `%${byte < 16 ? "0" : ""}${byte.toString(16).toUpperCase()}`;
    }
    return out;
  }
  function formDecode(text) {
    const s = text.replace(/\+/g, " ");
    try {
      return decodeURIComponent(s);
    } catch {
      return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    }
  }
  function parseQuery(query) {
    const list = [];
    for (const part of query.split("&")) {
      if (part === "") continue;
      const i = part.indexOf("=");
      ArrayPrototypePush(list, i === -1 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
    }
    return list;
  }

  const list = Symbol("list");
  const owner = Symbol("url");

  class URLSearchParams {
    constructor(init = "") {
      this[list] = [];
      this[owner] = null;
      if (typeof init === "object" && init !== null) {
        if (init instanceof URLSearchParams) {
          for (const pair of init[list]) ArrayPrototypePush(this[list], [pair[0], pair[1]]);
        } else if (typeof init[SymbolIterator] === "function") {
          for (const pair of init) {
            const items = [...pair];
            if (items.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
            ArrayPrototypePush(this[list], [String(items[0]), String(items[1])]);
          }
        } else {
          for (const key of ObjectKeys(init)) ArrayPrototypePush(this[list], [key, String(init[key])]);
        }
      } else {
        const text = String(init);
        this[list] = parseQuery(text[0] === "?" ? text.slice(1) : text);
      }
    }
    #update() {
      if (this[owner]) this[owner][setSearchFromParams](this.toString());
    }
    get size() {
      return this[list].length;
    }
    append(name, value) {
      ArrayPrototypePush(this[list], [String(name), String(value)]);
      this.#update();
    }
    delete(name, value = undefined) {
      const n = String(name);
      this[list] = this[list].filter(([k, v]) => k !== n || (value !== undefined && v !== String(value)));
      this.#update();
    }
    get(name) {
      const n = String(name);
      return this[list].find(([k]) => k === n)?.[1] ?? null;
    }
    getAll(name) {
      const n = String(name);
      return ArrayPrototypeMap(this[list].filter(([k]) => k === n), ([, v]) => v);
    }
    has(name, value = undefined) {
      const n = String(name);
      return this[list].some(([k, v]) => k === n && (value === undefined || v === String(value)));
    }
    set(name, value) {
      const n = String(name);
      const i = this[list].findIndex(([k]) => k === n);
      if (i === -1) ArrayPrototypePush(this[list], [n, String(value)]);
      else {
        this[list][i] = [n, String(value)];
        this[list] = this[list].filter(([k], j) => k !== n || j === i);
      }
      this.#update();
    }
    sort() {
      // Stable by name, as the standard asks.
      this[list] = this[list].map((pair, i) => [pair, i]).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map(([pair]) => pair);
      this.#update();
    }
    forEach(callback, thisArg) {
      for (const [k, v] of this[list]) callback.call(thisArg, v, k, this);
    }
    *entries() {
      for (const [k, v] of this[list]) yield [k, v];
    }
    *keys() {
      for (const [k] of this[list]) yield k;
    }
    *values() {
      for (const [, v] of this[list]) yield v;
    }
    [SymbolIterator]() {
      return this.entries();
    }
    toString() {
      return ArrayPrototypeJoin(ArrayPrototypeMap(this[list], ([k, v]) => `${formEncode(k)}=${formEncode(v)}`), "&");
    }
    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }

  const parts = Symbol("parts");
  const setSearchFromParams = Symbol("setSearchFromParams");
  const params = Symbol("params");
  const setComponent = Symbol("setComponent");

  class URL {
    constructor(url, base = undefined) {
      this[parts] = op_chatfn_url_parse(String(url), base === undefined ? undefined : String(base));
      this[params] = null;
    }
    static canParse(url, base = undefined) {
      try {
        new URL(url, base);
        return true;
      } catch {
        return false;
      }
    }
    static parse(url, base = undefined) {
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }
    [setComponent](component, value) {
      this[parts] = op_chatfn_url_set(this[parts].href, component, String(value));
      if (this[params] && (component === "search" || component === "href")) {
        this[params][list] = parseQuery(this[parts].search.slice(1));
      }
    }
    [setSearchFromParams](query) {
      this[parts] = op_chatfn_url_set(this[parts].href, "search", query);
    }
    get searchParams() {
      if (!this[params]) {
        this[params] = new URLSearchParams(this[parts].search);
        this[params][owner] = this;
      }
      return this[params];
    }
    toString() {
      return this[parts].href;
    }
    toJSON() {
      return this[parts].href;
    }
    get origin() {
      return this[parts].origin;
    }
    get [Symbol.toStringTag]() {
      return "URL";
    }
  }
  for (const component of ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"]) {
    ObjectDefineProperty(URL.prototype, component, {
      get() {
        return this[parts][component];
      },
      set(value) {
        this[setComponent](component, value);
      },
      enumerable: true,
      configurable: true,
    });
  }

  const { defineGlobal } = globalThis.__chatfnHost;
  defineGlobal("URL", URL);
  defineGlobal("URLSearchParams", URLSearchParams);
})(globalThis);
