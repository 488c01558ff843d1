// chatfn runtime bootstrap. Runs once while the startup snapshot is built, so
// every runtime starts with these globals already in place. It captures the
// ops it needs in closures and hands the host an object of entry points; the
// host then deletes `Deno`, `__bootstrap` and friends (see `engine/runtime.rs`)
// so tenant code can never reach an op directly.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_log } = core.ops;

  const {
    ArrayIsArray,
    ArrayPrototypeJoin,
    ArrayPrototypeMap,
    ErrorPrototype,
    JSONParse,
    JSONStringify,
    MapPrototypeGet,
    MapPrototypeSet,
    MapPrototypeDelete,
    ObjectCreate,
    ObjectDefineProperty,
    ObjectFreeze,
    ObjectKeys,
    ObjectPrototypeIsPrototypeOf,
    SafeMap,
    SafeSet,
    StringPrototypeSlice,
    SymbolPrototypeToString,
  } = globalThis.__bootstrap.primordials;

  // ---------------------------------------------------------------------------
  // console: every call becomes one line sent to the host with its level; the
  // host timestamps it, bounds it and attributes it to the running invocation.
  // ---------------------------------------------------------------------------
  const LEVEL = { debug: 0, info: 1, warn: 2, error: 3 };
  const MAX_DEPTH = 4;
  const MAX_ITEMS = 100;

  function inspect(value, depth, seen) {
    switch (typeof value) {
      case "string":
        return depth === 0 ? value : JSONStringify(value);
      case "number":
      case "boolean":
      case "undefined":
        return String(value);
      case "bigint":
        return `${value}n`;
      case "symbol":
        return SymbolPrototypeToString(value);
      case "function":
        return value.name ? `[Function: ${value.name}]` : "[Function (anonymous)]";
    }
    if (value === null) return "null";
    if (ObjectPrototypeIsPrototypeOf(ErrorPrototype, value)) {
      return value.stack ?? `${value.name}: ${value.message}`;
    }
    if (seen.has(value)) return "[Circular]";
    if (depth >= MAX_DEPTH) return ArrayIsArray(value) ? "[Array]" : "[Object]";
    seen.add(value);
    try {
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Map) {
        const parts = [];
        for (const [k, v] of value) {
          if (parts.length >= MAX_ITEMS) { parts.push("..."); break; }
          parts.push(`${inspect(k, depth + 1, seen)} => ${inspect(v, depth + 1, seen)}`);
        }
        return `Map(${value.size}) { ${ArrayPrototypeJoin(parts, ", ")} }`;
      }
      if (value instanceof Set) {
        const parts = [];
        for (const v of value) {
          if (parts.length >= MAX_ITEMS) { parts.push("..."); break; }
          parts.push(inspect(v, depth + 1, seen));
        }
        return `Set(${value.size}) { ${ArrayPrototypeJoin(parts, ", ")} }`;
      }
      if (ArrayIsArray(value)) {
        const parts = [];
        for (let i = 0; i < value.length; i++) {
          if (i >= MAX_ITEMS) { parts.push(`... ${value.length - i} more items`); break; }
          parts.push(inspect(value[i], depth + 1, seen));
        }
        return `[ ${ArrayPrototypeJoin(parts, ", ")} ]`;
      }
      const keys = ObjectKeys(value);
      const parts = [];
      for (let i = 0; i < keys.length; i++) {
        if (i >= MAX_ITEMS) { parts.push(`... ${keys.length - i} more keys`); break; }
        const key = keys[i];
        parts.push(`${key}: ${inspect(value[key], depth + 1, seen)}`);
      }
      return parts.length ? `{ ${ArrayPrototypeJoin(parts, ", ")} }` : "{}";
    } finally {
      seen.delete(value);
    }
  }

  function format(args) {
    if (args.length === 1 && typeof args[0] === "string") return args[0];
    return ArrayPrototypeJoin(ArrayPrototypeMap(args, (a) => inspect(a, 0, new SafeSet())), " ");
  }

  const makeLogger = (level) => (...args) => op_chatfn_log(level, format(args));
  const console = {
    log: makeLogger(LEVEL.info),
    info: makeLogger(LEVEL.info),
    debug: makeLogger(LEVEL.debug),
    trace: makeLogger(LEVEL.debug),
    warn: makeLogger(LEVEL.warn),
    error: makeLogger(LEVEL.error),
    dir: (value) => op_chatfn_log(LEVEL.info, inspect(value, 1, new SafeSet())),
    table: makeLogger(LEVEL.info),
    assert: (condition, ...args) => {
      if (!condition) op_chatfn_log(LEVEL.error, `Assertion failed${args.length ? ": " + format(args) : ""}`);
    },
  };

  // ---------------------------------------------------------------------------
  // Timers, on deno_core's own timer queue (driven by the host's event loop).
  // ---------------------------------------------------------------------------
  const timers = new SafeMap();
  let nextTimerId = 1;
  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError("The callback of a timer must be a function");
    }
    const id = nextTimerId++;
    const run = repeat ? callback : (...a) => {
      MapPrototypeDelete(timers, id);
      return callback(...a);
    };
    MapPrototypeSet(timers, id, core.createTimer(run, delay, args.length ? args : undefined, repeat, true));
    return id;
  }
  function clearTimer(id) {
    const timer = MapPrototypeGet(timers, id);
    if (timer !== undefined) {
      core.cancelTimer(timer);
      MapPrototypeDelete(timers, id);
    }
  }

  // ---------------------------------------------------------------------------
  // process: only what handler authors expect (env, nextTick, platform facts);
  // `env` is replaced by the host with the application's variables.
  // ---------------------------------------------------------------------------
  const process = {
    env: ObjectFreeze(ObjectCreate(null)),
    nextTick: (callback, ...args) => queueMicrotask(() => callback(...args)),
    platform: "linux",
    version: "v20.0.0",
    versions: ObjectFreeze({ node: "20.0.0", chatfn: "0.1.0" }),
    argv: ObjectFreeze([]),
    cwd: () => "/",
    hrtime: { bigint: () => BigInt(Math.round(performanceNow() * 1e6)) },
  };
  const startedAt = Date.now();
  function performanceNow() {
    return Date.now() - startedAt;
  }

  const defineGlobal = (name, value) =>
    ObjectDefineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
  defineGlobal("console", console);
  defineGlobal("setTimeout", (cb, delay, ...args) => schedule(cb, delay, args, false));
  defineGlobal("setInterval", (cb, delay, ...args) => schedule(cb, delay, args, true));
  defineGlobal("clearTimeout", clearTimer);
  defineGlobal("clearInterval", clearTimer);
  defineGlobal("process", process);
  defineGlobal("global", globalThis);

  // A rejected promise nobody awaits is logged, not fatal: it must not fail
  // an unrelated invocation or take down the warm runtime.
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    op_chatfn_log(LEVEL.error, `Unhandled promise rejection: ${inspect(reason, 0, new SafeSet())}`);
    return true;
  });

  // ---------------------------------------------------------------------------
  // Host entry points.
  // ---------------------------------------------------------------------------
  const handlers = new SafeMap();

  function notAvailable(name) {
    const err = new Error(`Cannot find module '${name}'`);
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  // require.js replaces this with the runtime's CommonJS loader.
  let rootRequire = notAvailable;
  function useRequire(require) {
    rootRequire = require;
  }

  // Compiles a transpiled script as a CommonJS-style function body, so each
  // function has its own module scope (its top-level state persists across
  // invocations of the warm runtime) and positions stay those of the emitted
  // code, which the host maps back to TypeScript.
  function compile(code, specifier) {
    const [fn, error] = core.compileFunction(code, specifier, undefined, [
      "exports", "require", "module", "__filename", "__dirname",
    ]);
    if (error) throw error.thrown;
    const module = { exports: {} };
    const result = fn.call(module.exports, module.exports, rootRequire, module, specifier, "/");
    return { module, result };
  }

  function setEnv(json) {
    const env = ObjectCreate(null);
    const vars = JSONParse(json);
    for (const key of ObjectKeys(vars)) env[key] = String(vars[key]);
    process.env = ObjectFreeze(env);
  }

  function runInit(code, specifier) {
    compile(code, specifier);
  }

  function load(key, code, specifier) {
    const { module, result } = compile(code, specifier);
    let handler = result;
    if (typeof handler !== "function") {
      const exported = module.exports;
      handler = typeof exported === "function" ? exported : exported?.handleEvent;
    }
    if (typeof handler !== "function") {
      throw new TypeError("The script defines no handler: declare `async function handleEvent(event, context)` or export one");
    }
    MapPrototypeSet(handlers, key, handler);
  }

  // An initialization script written as an ES module (ChatKitty's example
  // ends in `export { firebase }`) shares its exports with every function
  // as globals.
  function exposeExports(namespace) {
    for (const name of ObjectKeys(namespace)) {
      if (name !== "default") defineGlobal(name, namespace[name]);
    }
  }

  function registerModule(key, namespace) {
    const handler = typeof namespace.default === "function" ? namespace.default : namespace.handleEvent;
    if (typeof handler !== "function") {
      throw new TypeError("The module exports no handler: `export default` a function or `export async function handleEvent`");
    }
    MapPrototypeSet(handlers, key, handler);
  }

  // context.js replaces this with one that adds the context APIs.
  let makeContext = JSONParse;
  function useContextFactory(factory) {
    makeContext = factory;
  }

  async function invoke(key, eventJson, contextJson) {
    const handler = MapPrototypeGet(handlers, key);
    const result = await handler(JSONParse(eventJson), makeContext(contextJson));
    if (result === undefined) return undefined;
    let json;
    try {
      json = JSONStringify(result);
    } catch (e) {
      throw new TypeError(`The handler's return value is not JSON-serialisable: ${e.message}`);
    }
    if (json === undefined) {
      throw new TypeError(`The handler's return value is not JSON-serialisable: a ${typeof result} has no JSON form`);
    }
    return json;
  }

  // `defineGlobal` is for the capability scripts that follow this one.
  globalThis.__chatfnHost = {
    setEnv, runInit, exposeExports, load, registerModule, invoke, useContextFactory, useRequire, defineGlobal,
  };
})(globalThis);
