// CommonJS `require` for handlers, the initialization script and the NPM
// packages installed for the runtime, and Node's built-in modules.
// Resolution (Node's rules over the runtime's lockfile only) and reads are
// host ops; this file keeps the module caches and wraps module code like
// Node does. Built-ins (js-runtime/node/*.js, embedded in the binary) are
// compiled the first time a runtime requires them. Runs last while the
// startup snapshot is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const ops = core.ops;
  const {
    op_chatfn_require_resolve,
    op_chatfn_require_read,
    op_chatfn_module_format,
    op_chatfn_builtin_source,
    op_chatfn_builtin_names,
    op_import_sync,
  } = ops;
  const host = globalThis.__chatfnHost;
  const primordials = globalThis.__bootstrap.primordials;
  const {
    ArrayPrototypeIncludes,
    Error,
    JSONParse,
    MapPrototypeDelete,
    MapPrototypeGet,
    MapPrototypeSet,
    ObjectCreate,
    ObjectDefineProperty,
    ObjectFreeze,
    ObjectSetPrototypeOf,
    RegExpPrototypeTest,
    SafeMap,
    StringPrototypeEndsWith,
    StringPrototypeSlice,
    StringPrototypeStartsWith,
    SyntaxError,
    TypeError,
  } = primordials;

  const BUILTINS = ObjectFreeze(op_chatfn_builtin_names());
  const WRAPPER_ARGS = ["exports", "require", "module", "__filename", "__dirname"];

  /** `fs`, `node:fs` -> `fs`; other names -> undefined; `node:nope` throws. */
  function builtinName(request) {
    const prefixed = StringPrototypeStartsWith(request, "node:");
    const name = prefixed ? StringPrototypeSlice(request, 5) : request;
    if (ArrayPrototypeIncludes(BUILTINS, name)) return name;
    if (prefixed) {
      const error = new Error(`No such built-in module: ${request}`);
      error.code = "ERR_UNKNOWN_BUILTIN_MODULE";
      throw error;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------
  // Built-in modules: compiled on first use with an extra `internal`
  // argument that only the runtime's own code receives.
  // ---------------------------------------------------------------------------
  const builtinModules = new SafeMap();

  function evaluateOwn(kind, name) {
    const key = `${kind}:${name}`;
    const cached = MapPrototypeGet(builtinModules, key);
    if (cached !== undefined) return cached.exports;
    const module = { id: name, filename: name, loaded: false, exports: {}, children: [], paths: [] };
    MapPrototypeSet(builtinModules, key, module);
    try {
      const source = op_chatfn_builtin_source(kind, name);
      const [fn, error] = core.compileFunction(source, `chatfn:runtime/${kind}/${name}.js`, undefined, [
        ...WRAPPER_ARGS, "internal",
      ]);
      if (error) throw error.thrown;
      fn.call(module.exports, module.exports, internalRequire, module, name, "/", internal);
      module.loaded = true;
    } catch (e) {
      MapPrototypeDelete(builtinModules, key);
      throw e;
    }
    return module.exports;
  }

  const loadBuiltin = (name) => evaluateOwn("builtin", name);
  /** What built-ins require: other built-ins, by name. */
  function internalRequire(request) {
    const name = builtinName(request);
    if (name === undefined) throw new Error(`internal error: a built-in required '${request}'`);
    return loadBuiltin(name);
  }

  /** What the built-ins may use and tenant code never sees. */
  const internal = ObjectFreeze({
    core,
    ops,
    primordials,
    host,
    vendor: (name) => evaluateOwn("vendor", name),
    lib: (name) => evaluateOwn("lib", name),
    makeRequire: (parent) => makeRequire(parent),
    builtins: BUILTINS,
    moduleCache: () => cache,
  });

  // ---------------------------------------------------------------------------
  // The loader of installed packages.
  // ---------------------------------------------------------------------------
  const cache = new SafeMap();
  const dirname = (p) => p.slice(0, p.lastIndexOf("/")) || "/";

  function notFound(message, parent) {
    const error = new Error(parent ? `${message} (required from ${parent})` : message);
    error.code = StringPrototypeStartsWith(message, "Package subpath") ? "ERR_PACKAGE_PATH_NOT_EXPORTED" : "MODULE_NOT_FOUND";
    return error;
  }

  function resolve(request, parent) {
    if (typeof request !== "string") {
      throw new TypeError(`The "id" argument must be of type string. Received ${typeof request}`);
    }
    try {
      return op_chatfn_require_resolve(request, parent);
    } catch (e) {
      throw notFound(e.message, parent);
    }
  }

  // A `.js` file that V8 refuses as a script because of `import`/`export`
  // is an ES module (Node 22's syntax detection).
  const ESM_SYNTAX = /Cannot use import statement|Unexpected token 'export'|Cannot use 'import\.meta'|await is only valid/;

  function requireEsModule(module, filename) {
    const namespace = op_import_sync(`file://${filename}`);
    module.exports = namespace;
  }

  /** Loads the file at a resolved path as Node would (cached). */
  function loadFile(filename) {
    const cached = MapPrototypeGet(cache, filename);
    if (cached !== undefined) return cached.exports;
    const module = { id: filename, filename, path: dirname(filename), loaded: false, exports: {}, children: [], paths: [] };
    MapPrototypeSet(cache, filename, module);
    try {
      const format = op_chatfn_module_format(filename);
      if (format === "module") {
        requireEsModule(module, filename);
      } else {
        const source = op_chatfn_require_read(filename);
        if (format === "json") {
          try {
            module.exports = JSONParse(source);
          } catch (e) {
            throw new SyntaxError(`${filename}: ${e.message}`);
          }
        } else {
          // Stack traces name the file as a URL; `__filename` stays a path, as in Node.
          const [fn, error] = core.compileFunction(source, `file://${filename}`, undefined, WRAPPER_ARGS);
          if (error) {
            const thrown = error.thrown;
            if (!StringPrototypeEndsWith(filename, ".cjs") && RegExpPrototypeTest(ESM_SYNTAX, thrown?.message ?? "")) {
              requireEsModule(module, filename);
            } else {
              if (thrown instanceof SyntaxError) thrown.message = `${thrown.message} (in ${filename})`;
              throw thrown;
            }
          } else {
            module.require = makeRequire(filename);
            fn.call(module.exports, module.exports, module.require, module, filename, module.path);
          }
        }
      }
      module.loaded = true;
    } catch (e) {
      MapPrototypeDelete(cache, filename);
      throw e;
    }
    return module.exports;
  }

  function makeRequire(parent) {
    function require(request) {
      if (typeof request !== "string") {
        throw new TypeError(`The "id" argument must be of type string. Received ${typeof request}`);
      }
      const name = builtinName(request);
      if (name !== undefined) return loadBuiltin(name);
      return loadFile(resolve(request, parent));
    }
    require.resolve = (request) => {
      if (typeof request === "string" && builtinName(request) !== undefined) return request;
      return resolve(request, parent);
    };
    require.resolve.paths = (request) => (builtinName(request) !== undefined ? null : ["/node_modules"]);
    require.cache = ObjectCreate(null);
    require.main = undefined;
    return require;
  }

  // ES modules importing CommonJS files and built-ins reach these through
  // the wrapper modules of engine/loader.rs.
  ObjectDefineProperty(globalThis, "__chatfnModules", {
    value: ObjectFreeze({ builtin: loadBuiltin, load: loadFile }),
    enumerable: false,
    writable: false,
    configurable: false,
  });

  const rootRequire = makeRequire("");
  host.useRequire(rootRequire);
  // Initialization scripts and ES modules may `require` too (scope: the
  // runtime's own dependencies); handlers get their own `require` argument.
  host.defineGlobal("require", rootRequire);

  // process is an EventEmitter in Node (packages listen for 'exit',
  // 'warning', ...; nothing here emits the process's own events).
  const EventEmitter = loadBuiltin("events");
  const process = globalThis.process;
  ObjectSetPrototypeOf(process, EventEmitter.prototype);
  EventEmitter.init.call(process);
  process.setMaxListeners(0);

  // console formats as Node's does (util.format), with Node's inspect
  // compiled the first time something other than one string is logged.
  let formatWithOptions;
  host.useConsoleFormat((args) => {
    formatWithOptions ??= evaluateOwn("vendor", "inspect").formatWithOptions;
    return formatWithOptions({}, ...args);
  });

  // Buffer is a global in Node: its module is evaluated into the snapshot.
  const { Buffer } = loadBuiltin("buffer");
  host.defineGlobal("Buffer", Buffer);
  // Node 22's web stream globals, loaded on first use.
  for (const name of [
    "ReadableStream", "ReadableStreamDefaultReader", "ReadableStreamBYOBReader", "ReadableStreamBYOBRequest",
    "ReadableByteStreamController", "ReadableStreamDefaultController", "TransformStream",
    "TransformStreamDefaultController", "WritableStream", "WritableStreamDefaultWriter",
    "WritableStreamDefaultController", "ByteLengthQueuingStrategy", "CountQueuingStrategy", "TextEncoderStream",
    "TextDecoderStream", "CompressionStream", "DecompressionStream",
  ]) {
    ObjectDefineProperty(globalThis, name, {
      get() {
        const value = loadBuiltin("stream/web")[name];
        host.defineGlobal(name, value);
        return value;
      },
      set(value) {
        host.defineGlobal(name, value);
      },
      enumerable: false,
      configurable: true,
    });
  }
  host.builtin = loadBuiltin;
  host.lib = (name) => evaluateOwn("lib", name);
})(globalThis);
