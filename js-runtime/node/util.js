// node:util: Node's own `inspect` and `format` (node-inspect-extracted),
// with the rest of the module written here.
"use strict";

const inspectModule = internal.vendor("inspect");
const { inspect, format, formatWithOptions, stripVTControlCharacters, getStringWidth } = inspectModule;
const types = require("util/types");

const kCustomPromisify = Symbol.for("nodejs.util.promisify.custom");

function promisify(original) {
  if (typeof original !== "function") {
    const error = new TypeError('The "original" argument must be of type function');
    error.code = "ERR_INVALID_ARG_TYPE";
    throw error;
  }
  if (original[kCustomPromisify]) {
    const fn = original[kCustomPromisify];
    return Object.defineProperty(fn, kCustomPromisify, { value: fn, enumerable: false, writable: false, configurable: true });
  }
  function fn(...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [...args, (err, value) => (err ? reject(err) : resolve(value))]);
    });
  }
  Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
  Object.defineProperty(fn, kCustomPromisify, { value: fn, enumerable: false, writable: false, configurable: true });
  return Object.defineProperties(fn, Object.getOwnPropertyDescriptors(original));
}
promisify.custom = kCustomPromisify;

function callbackify(original) {
  if (typeof original !== "function") throw new TypeError('The "original" argument must be of type function');
  function callbackified(...args) {
    const callback = args.pop();
    if (typeof callback !== "function") throw new TypeError("The last argument must be of type function");
    Reflect.apply(original, this, args).then(
      (value) => process.nextTick(callback, null, value),
      (reason) => {
        if (!reason) {
          const error = new Error("Promise was rejected with a falsy value");
          error.reason = reason;
          reason = error;
        }
        process.nextTick(callback, reason);
      },
    );
  }
  return callbackified;
}

function inherits(ctor, superCtor) {
  if (ctor === undefined || ctor === null) throw new TypeError('The "ctor" argument must be of type function');
  if (superCtor === undefined || superCtor === null) throw new TypeError('The "superCtor" argument must be of type function');
  if (superCtor.prototype === undefined) throw new TypeError('The "superCtor.prototype" property must be of type object');
  Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

const warned = new Set();
function deprecate(fn, message, code) {
  function deprecated(...args) {
    if (!warned.has(code ?? message)) {
      warned.add(code ?? message);
      process.emitWarning(message, "DeprecationWarning", code);
    }
    return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
  }
  Object.setPrototypeOf(deprecated, fn);
  if (fn.prototype) deprecated.prototype = fn.prototype;
  return deprecated;
}

function isDeepStrictEqual(a, b) {
  return require("assert").isDeepStrictEqual(a, b);
}

const debuglog = (section) => {
  const enabled = new RegExp(`^(${(process.env.NODE_DEBUG ?? "").replace(/[|\\{}()[\]^$+?.]/g, "\\$&").replace(/\*/g, ".*").replace(/,/g, "$|^")})$`, "i").test(section);
  const log = (...args) => {
    if (enabled) console.error(`${section.toUpperCase()}: ${format(...args)}`);
  };
  log.enabled = enabled;
  return log;
};

function toUSVString(s) {
  return String(s).toWellFormed();
}
function styleText(format, text) {
  const formats = Array.isArray(format) ? format : [format];
  let out = text;
  for (const f of formats) {
    const code = inspect.colors[f];
    if (!code) throw new TypeError(`The argument 'format' must be one of: ${Object.keys(inspect.colors).join(", ")}`);
    out = `\u001b[${code[0]}m${out}\u001b[${code[1]}m`;
  }
  return out;
}
function parseArgs() {
  return { values: {}, positionals: [] };
}
function aborted(signal) {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
function getSystemErrorName(code) {
  return `Unknown system error ${code}`;
}
function transferableAbortSignal(signal) {
  return signal;
}
function transferableAbortController() {
  return new AbortController();
}

const isArray = Array.isArray;
const isBoolean = (v) => typeof v === "boolean";
const isNull = (v) => v === null;
const isNullOrUndefined = (v) => v === null || v === undefined;
const isNumber = (v) => typeof v === "number";
const isString = (v) => typeof v === "string";
const isSymbol = (v) => typeof v === "symbol";
const isUndefined = (v) => v === undefined;
const isRegExp = types.isRegExp;
const isObject = (v) => v !== null && typeof v === "object";
const isDate = types.isDate;
const isError = (v) => v instanceof Error;
const isFunction = (v) => typeof v === "function";
const isPrimitive = (v) => v === null || (typeof v !== "object" && typeof v !== "function");
const isBuffer = (v) => Buffer.isBuffer(v);
const { TextEncoder, TextDecoder } = globalThis;
const log = (...args) => console.log(`${new Date().toISOString()} - ${format(...args)}`);
const _extend = (target, source) => Object.assign(target, source);

module.exports = {
  inspect, format, formatWithOptions, stripVTControlCharacters, getStringWidth, promisify, callbackify, inherits,
  deprecate, isDeepStrictEqual, debuglog, debug: debuglog, types, toUSVString, styleText, parseArgs, aborted,
  getSystemErrorName, transferableAbortSignal, transferableAbortController, TextEncoder, TextDecoder, isArray,
  isBoolean, isNull, isNullOrUndefined, isNumber, isString, isSymbol, isUndefined, isRegExp, isObject, isDate, isError,
  isFunction, isPrimitive, isBuffer, log, _extend,
};
