// CommonJS `require` for handlers, the initialization script and the NPM
// packages installed for the runtime. Resolution (Node's rules over the
// runtime's lockfile only) and reads are host ops; this file keeps the
// module cache and wraps module code like Node does. The Node built-ins
// come from node.js and buffer.js. Runs last while the startup snapshot is
// built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_require_resolve, op_chatfn_require_read } = core.ops;
  const host = globalThis.__chatfnHost;
  const {
    Error,
    JSONParse,
    MapPrototypeDelete,
    MapPrototypeGet,
    MapPrototypeSet,
    ObjectCreate,
    ObjectFreeze,
    ObjectPrototypeHasOwnProperty,
    SafeMap,
    SafeSet,
    SetPrototypeHas,
    StringPrototypeEndsWith,
    StringPrototypeSlice,
    StringPrototypeStartsWith,
    TypeError,
  } = globalThis.__bootstrap.primordials;

  const BUILTINS = ObjectFreeze({ ...host.nodeModules });
  /// Node modules that reach the host: never in a chat function.
  const UNAVAILABLE = new SafeSet([
    "fs", "fs/promises", "child_process", "net", "http", "https", "http2", "tls", "dgram", "dns", "dns/promises",
    "os", "cluster", "worker_threads", "vm", "v8", "inspector", "module", "perf_hooks", "readline", "repl",
    "async_hooks", "diagnostics_channel", "trace_events", "wasi", "zlib", "stream", "tty", "punycode",
    "constants", "domain", "sys",
  ]);

  function builtin(request) {
    const name = StringPrototypeStartsWith(request, "node:") ? StringPrototypeSlice(request, 5) : request;
    if (ObjectPrototypeHasOwnProperty(BUILTINS, name)) return BUILTINS[name];
    if (SetPrototypeHas(UNAVAILABLE, name) || name !== request) {
      const error = new Error(`Module '${request}' is not available in chat functions`);
      error.code = "ERR_UNKNOWN_BUILTIN_MODULE";
      throw error;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------
  // The loader.
  // ---------------------------------------------------------------------------
  const cache = new SafeMap();
  const dirname = (p) => p.slice(0, p.lastIndexOf("/")) || "/";

  function notFound(message) {
    const error = new Error(message);
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
      throw notFound(e.message);
    }
  }

  function makeRequire(parent) {
    function require(request) {
      const found = builtin(request);
      if (found !== undefined) return found;
      const filename = resolve(request, parent);
      const cached = MapPrototypeGet(cache, filename);
      if (cached !== undefined) return cached.exports;
      const module = { id: filename, filename, path: dirname(filename), loaded: false, exports: {}, children: [], paths: [] };
      MapPrototypeSet(cache, filename, module);
      try {
        const source = op_chatfn_require_read(filename);
        if (StringPrototypeEndsWith(filename, ".json")) {
          module.exports = JSONParse(source);
        } else {
          // Stack traces name the file as a URL; `__filename` stays a path, as in Node.
          const [fn, error] = core.compileFunction(source, `file://${filename}`, undefined, [
            "exports", "require", "module", "__filename", "__dirname",
          ]);
          if (error) throw error.thrown;
          module.require = makeRequire(filename);
          fn.call(module.exports, module.exports, module.require, module, filename, module.path);
        }
        module.loaded = true;
      } catch (e) {
        MapPrototypeDelete(cache, filename);
        throw e;
      }
      return module.exports;
    }
    require.resolve = (request) => (builtin(request) !== undefined ? request : resolve(request, parent));
    require.cache = ObjectCreate(null);
    return require;
  }

  host.useRequire(makeRequire(""));
})(globalThis);
