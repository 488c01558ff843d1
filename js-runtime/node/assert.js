// node:assert (legacy and strict), with Node's messages in short form.
"use strict";

const { inspect } = require("util");

class AssertionError extends Error {
  constructor(options) {
    super(options.message);
    this.name = "AssertionError";
    this.code = "ERR_ASSERTION";
    this.actual = options.actual;
    this.expected = options.expected;
    this.operator = options.operator;
    this.generatedMessage = options.generated === true;
  }
}

function isDeepEqual(a, b, strict, seen = new Map()) {
  if (strict ? Object.is(a, b) : a == b || (a !== a && b !== b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const tagA = Object.prototype.toString.call(a);
  if (tagA !== Object.prototype.toString.call(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return a.source === b.source && a.flags === b.flags && a.lastIndex === b.lastIndex;
  if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    outer: for (const v of a) {
      if (b.has(v)) continue;
      if (typeof v === "object" && v !== null) {
        for (const w of b) if (isDeepEqual(v, w, strict, seen)) continue outer;
      }
      return false;
    }
  }
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !isDeepEqual(v, b.get(k), strict, seen)) return false;
    }
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (const k of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !isDeepEqual(a[k], b[k], strict, seen)) return false;
  }
  if (strict) {
    const symA = Object.getOwnPropertySymbols(a).filter((s) => Object.prototype.propertyIsEnumerable.call(a, s));
    const symB = Object.getOwnPropertySymbols(b).filter((s) => Object.prototype.propertyIsEnumerable.call(b, s));
    if (symA.length !== symB.length) return false;
    for (const s of symA) if (!isDeepEqual(a[s], b[s], strict, seen)) return false;
  }
  return true;
}

const show = (v) => inspect(v, { depth: 3, breakLength: Infinity });
function fail(message, actual, expected, operator, generated) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message: message ?? generated, actual, expected, operator, generated: message === undefined });
}

function matches(error, expected) {
  if (expected === undefined) return true;
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof expected) return true;
    if (Error.isPrototypeOf(expected) || expected === Error) return false;
    return expected.call({}, error) === true;
  }
  if (expected instanceof RegExp) return expected.test(String(error?.message ?? error)) || expected.test(String(error));
  if (typeof expected === "object" && expected !== null) {
    for (const key of Object.keys(expected)) {
      const want = expected[key];
      const got = error?.[key];
      if (want instanceof RegExp && typeof got === "string" ? !want.test(got) : !isDeepEqual(got, want, true)) return false;
    }
    return true;
  }
  return true;
}

function makeAssert(strict) {
  const equal = strict
    ? (a, b, m) => Object.is(a, b) || fail(m, a, b, "strictEqual", `Expected values to be strictly equal:\n\n${show(a)} !== ${show(b)}\n`)
    : (a, b, m) => a == b || (a !== a && b !== b) || fail(m, a, b, "==", `${show(a)} == ${show(b)}`);
  const notEqual = strict
    ? (a, b, m) => !Object.is(a, b) || fail(m, a, b, "notStrictEqual", `Expected "actual" to be strictly unequal to: ${show(b)}`)
    : (a, b, m) => a != b || fail(m, a, b, "!=", `${show(a)} != ${show(b)}`);
  const deepEqual = strict
    ? (a, b, m) => isDeepEqual(a, b, true) || fail(m, a, b, "deepStrictEqual", `Expected values to be strictly deep-equal:\n${show(a)}\n\nshould equal\n\n${show(b)}`)
    : (a, b, m) => isDeepEqual(a, b, false) || fail(m, a, b, "deepEqual", `Expected values to be loosely deep-equal:\n\n${show(a)}\n\nshould loosely deep-equal\n\n${show(b)}`);
  const notDeepEqual = strict
    ? (a, b, m) => !isDeepEqual(a, b, true) || fail(m, a, b, "notDeepStrictEqual", `Expected "actual" not to be strictly deep-equal to: ${show(b)}`)
    : (a, b, m) => !isDeepEqual(a, b, false) || fail(m, a, b, "notDeepEqual", `"actual" deepEqual "expected"`);
  function ok(value, message) {
    if (!value) fail(message, value, true, "==", arguments.length === 0 ? "No value argument passed to `assert.ok()`" : "The expression evaluated to a falsy value:\n\n  assert.ok(" + show(value) + ")\n");
  }
  const assert = (value, message) => ok(value, message);
  Object.assign(assert, {
    ok,
    AssertionError,
    fail: (message = "Failed") => fail(message, undefined, undefined, "fail", message),
    equal,
    notEqual,
    strictEqual: strict ? equal : (a, b, m) => Object.is(a, b) || fail(m, a, b, "strictEqual", `Expected values to be strictly equal:\n\n${show(a)} !== ${show(b)}\n`),
    notStrictEqual: (a, b, m) => !Object.is(a, b) || fail(m, a, b, "notStrictEqual", `Expected "actual" to be strictly unequal to: ${show(b)}`),
    deepEqual,
    notDeepEqual,
    deepStrictEqual: (a, b, m) => isDeepEqual(a, b, true) || fail(m, a, b, "deepStrictEqual", `Expected values to be strictly deep-equal:\n${show(a)}\n\nshould equal\n\n${show(b)}`),
    notDeepStrictEqual: (a, b, m) => !isDeepEqual(a, b, true) || fail(m, a, b, "notDeepStrictEqual", `Expected "actual" not to be strictly deep-equal to: ${show(b)}`),
    throws(fn, expected, message) {
      if (typeof expected === "string") [message, expected] = [expected, undefined];
      try {
        fn();
      } catch (e) {
        if (!matches(e, expected)) throw e;
        return;
      }
      fail(message, undefined, expected, "throws", "Missing expected exception.");
    },
    async rejects(promise, expected, message) {
      if (typeof expected === "string") [message, expected] = [expected, undefined];
      try {
        await (typeof promise === "function" ? promise() : promise);
      } catch (e) {
        if (!matches(e, expected)) throw e;
        return;
      }
      fail(message, undefined, expected, "rejects", "Missing expected rejection.");
    },
    doesNotThrow(fn, message) {
      try {
        fn();
      } catch (e) {
        fail(typeof message === "string" ? message : undefined, e, undefined, "doesNotThrow", `Got unwanted exception.\nActual message: "${e?.message}"`);
      }
    },
    async doesNotReject(promise, message) {
      try {
        await (typeof promise === "function" ? promise() : promise);
      } catch (e) {
        fail(typeof message === "string" ? message : undefined, e, undefined, "doesNotReject", `Got unwanted rejection.\nActual message: "${e?.message}"`);
      }
    },
    ifError(value) {
      if (value !== null && value !== undefined) {
        if (value instanceof Error) throw value;
        fail(undefined, value, null, "ifError", `ifError got unwanted exception: ${show(value)}`);
      }
    },
    match: (s, re, m) => re.test(s) || fail(m, s, re, "match", `The input did not match the regular expression ${re}. Input:\n\n${show(s)}\n`),
    doesNotMatch: (s, re, m) => !re.test(s) || fail(m, s, re, "doesNotMatch", `The input was expected to not match the regular expression ${re}. Input:\n\n${show(s)}\n`),
    isDeepStrictEqual: (a, b) => isDeepEqual(a, b, true),
  });
  return assert;
}

const assert = makeAssert(false);
assert.strict = makeAssert(true);
assert.strict.strict = assert.strict;
module.exports = assert;
0 && (module.exports = {
  ok, AssertionError, fail, equal, notEqual, strictEqual, notStrictEqual, deepEqual, notDeepEqual, deepStrictEqual,
  notDeepStrictEqual, throws, rejects, doesNotThrow, doesNotReject, ifError, match, doesNotMatch, strict,
});
