// chatfn runtime bootstrap. Runs once while the startup snapshot is built, so
// every runtime starts with these globals already in place. It captures the
// ops it needs in closures and hands the host an object of entry points; the
// host then deletes `Deno`, `__bootstrap` and friends (see `engine/runtime.rs`)
// so tenant code can never reach an op directly.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_log, op_chatfn_now, op_chatfn_returned, op_chatfn_settled_without } = core.ops;

  const {
    ArrayIsArray,
    ArrayPrototypeFilter,
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
    PromisePrototypeThen,
    PromiseReject,
    ReflectConstruct,
    SafeMap,
    SafeSet,
    StringPrototypeIncludes,
    StringPrototypeSlice,
    StringPrototypeSplit,
    SymbolPrototypeToString,
    SymbolToPrimitive,
    SymbolToStringTag,
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

  // Until require.js hands over Node's own util.format (see useConsoleFormat).
  let formatArgs = (args) => ArrayPrototypeJoin(ArrayPrototypeMap(args, (a) => inspect(a, 0, new SafeSet())), " ");
  function format(args) {
    if (args.length === 1 && typeof args[0] === "string") return args[0];
    return formatArgs(args);
  }
  function useConsoleFormat(formatter) {
    formatArgs = formatter;
  }

  let groupIndent = "";
  const emit = (level, text) => op_chatfn_log(level, groupIndent ? groupIndent + text.replaceAll("\n", `\n${groupIndent}`) : text);
  const makeLogger = (level) => (...args) => emit(level, format(args));
  const counts = new SafeMap();
  const consoleTimers = new SafeMap();
  const label = (l) => (l === undefined ? "default" : String(l));
  const elapsed = (start) => {
    const ms = op_chatfn_now() - start;
    return ms < 1000 ? `${ms.toFixed(3)}ms` : `${(ms / 1000).toFixed(3)}s`;
  };
  const console = {
    log: makeLogger(LEVEL.info),
    info: makeLogger(LEVEL.info),
    debug: makeLogger(LEVEL.debug),
    trace: (...args) => emit(LEVEL.debug, `Trace${args.length ? ": " + format(args) : ""}`),
    warn: makeLogger(LEVEL.warn),
    error: makeLogger(LEVEL.error),
    dir: (value) => emit(LEVEL.info, format([value])),
    dirxml: makeLogger(LEVEL.info),
    table: makeLogger(LEVEL.info),
    assert: (condition, ...args) => {
      if (!condition) emit(LEVEL.error, `Assertion failed${args.length ? ": " + format(args) : ""}`);
    },
    count(l) {
      const key = label(l);
      const n = (MapPrototypeGet(counts, key) ?? 0) + 1;
      MapPrototypeSet(counts, key, n);
      emit(LEVEL.info, `${key}: ${n}`);
    },
    countReset(l) {
      MapPrototypeDelete(counts, label(l));
    },
    time(l) {
      MapPrototypeSet(consoleTimers, label(l), op_chatfn_now());
    },
    timeLog(l, ...data) {
      const start = MapPrototypeGet(consoleTimers, label(l));
      if (start === undefined) return emit(LEVEL.warn, `Warning: No such label '${label(l)}' for console.timeLog()`);
      emit(LEVEL.info, `${label(l)}: ${elapsed(start)}${data.length ? " " + format(data) : ""}`);
    },
    timeEnd(l) {
      const start = MapPrototypeGet(consoleTimers, label(l));
      if (start === undefined) return emit(LEVEL.warn, `Warning: No such label '${label(l)}' for console.timeEnd()`);
      MapPrototypeDelete(consoleTimers, label(l));
      emit(LEVEL.info, `${label(l)}: ${elapsed(start)}`);
    },
    group(...args) {
      if (args.length) emit(LEVEL.info, format(args));
      groupIndent += "  ";
    },
    groupCollapsed(...args) {
      console.group(...args);
    },
    groupEnd() {
      groupIndent = StringPrototypeSlice(groupIndent, 2);
    },
    clear() {},
    profile() {},
    profileEnd() {},
    timeStamp() {},
  };

  // ---------------------------------------------------------------------------
  // Timers, on deno_core's own timer queue (driven by the host's event loop).
  // ---------------------------------------------------------------------------
  const timers = new SafeMap();
  let nextTimerId = 1;
  // What setTimeout/setInterval return, as in Node: an object with
  // ref/unref/refresh that also converts to its numeric id.
  class Timeout {
    #id;
    #refed = true;
    constructor(id) {
      this.#id = id;
    }
    ref() {
      const timer = MapPrototypeGet(timers, this.#id);
      if (timer !== undefined) core.refTimer(timer);
      this.#refed = true;
      return this;
    }
    unref() {
      const timer = MapPrototypeGet(timers, this.#id);
      if (timer !== undefined) core.unrefTimer(timer);
      this.#refed = false;
      return this;
    }
    hasRef() {
      return this.#refed;
    }
    refresh() {
      const timer = MapPrototypeGet(timers, this.#id);
      if (timer !== undefined) core.refreshTimer(timer);
      return this;
    }
    close() {
      clearTimer(this.#id);
      return this;
    }
    [SymbolToPrimitive]() {
      return this.#id;
    }
  }
  function schedule(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      const error = new TypeError(`The "callback" argument must be of type function. Received ${typeof callback}`);
      error.code = "ERR_INVALID_ARG_TYPE";
      throw error;
    }
    const id = nextTimerId++;
    const run = repeat ? callback : (...a) => {
      MapPrototypeDelete(timers, id);
      return callback(...a);
    };
    const after = typeof delay === "number" && delay >= 1 && delay <= 2147483647 ? delay : 1;
    MapPrototypeSet(timers, id, core.createTimer(run, after, args.length ? args : undefined, repeat, true));
    return new Timeout(id);
  }
  function clearTimer(handle) {
    const id = handle instanceof Timeout ? handle[SymbolToPrimitive]() : handle;
    const timer = MapPrototypeGet(timers, id);
    if (timer !== undefined) {
      core.cancelTimer(timer);
      MapPrototypeDelete(timers, id);
    }
  }
  class Immediate {
    #timeout;
    constructor(timeout) {
      this.#timeout = timeout;
    }
    ref() {
      this.#timeout.ref();
      return this;
    }
    unref() {
      this.#timeout.unref();
      return this;
    }
    hasRef() {
      return this.#timeout.hasRef();
    }
    [SymbolToPrimitive]() {
      return this.#timeout[SymbolToPrimitive]();
    }
  }
  const setImmediate = (callback, ...args) => new Immediate(schedule(callback, 0, args, false));
  const clearImmediate = (immediate) => immediate instanceof Immediate && clearTimer(immediate[SymbolToPrimitive]());

  // ---------------------------------------------------------------------------
  // process: only what handler authors expect (env, nextTick, platform facts);
  // `env` is replaced by the host with the application's variables.
  // ---------------------------------------------------------------------------
  // Monotonic milliseconds (microsecond resolution) since the process started.
  const performanceNow = () => op_chatfn_now();
  const NS_PER_SEC = 1_000_000_000;
  function hrtime(previous) {
    const ns = BigInt(Math.round(op_chatfn_now() * 1e6));
    const seconds = Number(ns / 1_000_000_000n);
    const nanos = Number(ns % 1_000_000_000n);
    if (ArrayIsArray(previous)) {
      let s = seconds - previous[0];
      let n = nanos - previous[1];
      if (n < 0) {
        s -= 1;
        n += NS_PER_SEC;
      }
      return [s, n];
    }
    return [seconds, nanos];
  }
  hrtime.bigint = () => BigInt(Math.round(op_chatfn_now() * 1e6));
  const notAvailable = (name) => () => {
    const error = new Error(`process.${name} is not available in chat functions`);
    error.code = "ERR_CHATFN_UNAVAILABLE";
    throw error;
  };
  const stream = (level, fd) => ({
    fd,
    isTTY: false,
    writable: true,
    columns: 80,
    write(chunk, encoding, callback) {
      const text = typeof chunk === "string" ? chunk : core.decode(chunk);
      op_chatfn_log(level, text.endsWith("\n") ? text.slice(0, -1) : text);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") queueMicrotask(done);
      return true;
    },
    end() {},
    on() { return this; },
    once() { return this; },
    off() { return this; },
    removeListener() { return this; },
    emit() { return false; },
    cork() {},
    uncork() {},
    getColorDepth: () => 1,
    hasColors: () => false,
  });
  // What Node's `process` offers that makes sense in a sandbox: facts of a
  // neutral Node 22 on Linux (never the host's own), env, timing, nextTick.
  // require.js makes it an EventEmitter.
  const process = {
    title: "node",
    env: ObjectFreeze(ObjectCreate(null)),
    nextTick: (callback, ...args) => {
      if (typeof callback !== "function") throw new TypeError('The "callback" argument must be of type function');
      queueMicrotask(() => callback(...args));
    },
    platform: "linux",
    arch: "x64",
    version: "v22.12.0",
    versions: ObjectFreeze({
      node: "22.12.0", v8: "12.4.254.21-node.21", uv: "1.49.1", zlib: "1.3.0.1-motley", modules: "127",
      unicode: "15.1", chatfn: "0.1.0",
    }),
    release: ObjectFreeze({ name: "node", lts: "Jod" }),
    features: ObjectFreeze({ inspector: false, ipv6: true, tls: true, typescript: false }),
    config: ObjectFreeze({ variables: ObjectFreeze({}) }),
    argv: ObjectFreeze(["/usr/local/bin/node", "/chat-function.js"]),
    argv0: "node",
    execArgv: ObjectFreeze([]),
    execPath: "/usr/local/bin/node",
    pid: 1,
    ppid: 0,
    exitCode: undefined,
    cwd: () => "/",
    chdir: notAvailable("chdir"),
    umask: () => 0o22,
    uptime: () => performanceNow() / 1000,
    hrtime,
    memoryUsage: ObjectFreeze(Object.assign(() => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }), { rss: () => 0 })),
    resourceUsage: () => ({ userCPUTime: 0, systemCPUTime: 0, maxRSS: 0 }),
    cpuUsage: () => ({ user: 0, system: 0 }),
    emitWarning(warning, type, code) {
      const name = typeof type === "string" ? type : type?.type ?? warning?.name ?? "Warning";
      const message = typeof warning === "string" ? warning : warning?.message;
      op_chatfn_log(LEVEL.warn, `(node) ${code ? `[${code}] ` : ""}${name}: ${message}`);
    },
    getuid: () => 1000,
    geteuid: () => 1000,
    getgid: () => 1000,
    getegid: () => 1000,
    getgroups: () => [1000],
    exit: notAvailable("exit"),
    reallyExit: notAvailable("reallyExit"),
    abort: notAvailable("abort"),
    kill: notAvailable("kill"),
    dlopen: notAvailable("dlopen"),
    binding: notAvailable("binding"),
    setUncaughtExceptionCaptureCallback() {},
    hasUncaughtExceptionCaptureCallback: () => false,
    stdout: stream(LEVEL.info, 1),
    stderr: stream(LEVEL.error, 2),
    stdin: { fd: 0, isTTY: false, on() { return this; }, once() { return this; }, read: () => null, pause() {}, resume() {} },
    // `Object.prototype.toString.call(process)` is "[object process]" in
    // Node; packages (axios among them) tell Node from browsers by it.
    [SymbolToStringTag]: "process",
  };

  const defineGlobal = (name, value) =>
    ObjectDefineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
  defineGlobal("console", console);
  defineGlobal("setTimeout", (cb, delay, ...args) => schedule(cb, delay, args, false));
  defineGlobal("setInterval", (cb, delay, ...args) => schedule(cb, delay, args, true));
  defineGlobal("clearTimeout", clearTimer);
  defineGlobal("clearInterval", clearTimer);
  defineGlobal("setImmediate", setImmediate);
  defineGlobal("clearImmediate", clearImmediate);
  defineGlobal("process", process);
  defineGlobal("global", globalThis);

  // A resizable ArrayBuffer or growable SharedArrayBuffer (`maxByteLength`)
  // takes its memory from V8's page allocator, not from the runtime's
  // ArrayBuffer allocator, so the buffer budget never saw it: one invocation
  // resized and touched 1.4 GB of them in 3 s. Fixed-length buffers (Node's
  // Buffer and the packages' own) are built as before. The options are read
  // once and never handed on, so a getter cannot answer the check and V8
  // differently.
  const fixedLengthOnly = (Original, name) => {
    const Constructor = new Proxy(Original, {
      construct(target, args, newTarget) {
        const options = args[1];
        if (options !== null && (typeof options === "object" || typeof options === "function")) {
          if (options.maxByteLength !== undefined) {
            const error = new TypeError(
              `${name} with maxByteLength (resizable) is not available in chat functions: ` +
                "its memory is outside the runtime's limits",
            );
            error.code = "ERR_CHATFN_UNAVAILABLE";
            throw error;
          }
        }
        return ReflectConstruct(target, [args[0]], newTarget);
      },
    });
    ObjectDefineProperty(Original.prototype, "constructor", {
      value: Constructor,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    defineGlobal(name, Constructor);
  };
  fixedLengthOnly(ArrayBuffer, "ArrayBuffer");
  // V8 adds SharedArrayBuffer to each context it starts from the snapshot,
  // so the host seals it there (`fixedLengthSharedBuffers`).
  const fixedLengthSharedBuffers = () => {
    if (typeof SharedArrayBuffer === "function") fixedLengthOnly(SharedArrayBuffer, "SharedArrayBuffer");
  };

  // A rejected promise nobody awaits is logged, not fatal: it must not fail
  // an unrelated invocation or take down the warm runtime.
  // Its stack shows the author's frames only, as an invocation's error does.
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    const text = inspect(reason, 0, new SafeSet());
    const lines = ArrayPrototypeFilter(
      StringPrototypeSplit(text, "\n"),
      (line) => !StringPrototypeIncludes(line, "chatfn:runtime/"),
    );
    op_chatfn_log(LEVEL.error, `Unhandled promise rejection: ${ArrayPrototypeJoin(lines, "\n")}`);
    return true;
  });

  // ---------------------------------------------------------------------------
  // Host entry points.
  // ---------------------------------------------------------------------------
  const handlers = new SafeMap();

  function noRequire(name) {
    const err = new Error(`Cannot find module '${name}'`);
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  // require.js replaces this with the runtime's CommonJS loader.
  let rootRequire = noRequire;
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

  // `invoke`, its end told to the host by an op instead of the host
  // watching the promise (which builds two V8 functions per call through
  // the API, a slow path). A rejection is kept for `takeFailure`, so that
  // the host turns it into an error as it turns any rejected promise.
  let failure;
  function returned(json) {
    if (json === undefined) op_chatfn_settled_without(false);
    else op_chatfn_returned(json);
  }
  function threw(error) {
    failure = error;
    op_chatfn_settled_without(true);
  }
  function invokeSettling(key, eventJson, contextJson) {
    PromisePrototypeThen(invoke(key, eventJson, contextJson), returned, threw);
  }
  function takeFailure() {
    const error = failure;
    failure = undefined;
    return PromiseReject(error);
  }

  // Bytes an op answered live outside the runtime's ArrayBuffer budget; a
  // copy made here is counted against it (and refused past it), so a
  // script cannot keep more than its budget by holding on to op answers.
  function counted(bytes) {
    if (bytes === null || bytes === undefined) return bytes;
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return copy;
  }

  // `defineGlobal` is for the capability scripts that follow this one.
  globalThis.__chatfnHost = {
    setEnv, runInit, exposeExports, load, registerModule, invokeSettling, takeFailure, useContextFactory, useRequire,
    defineGlobal, fixedLengthSharedBuffers,
    useConsoleFormat, counted,
  };
})(globalThis);
