// node:module: createRequire over the runtime's installed packages, and
// what packages ask of Module.
"use strict";

const builtinModules = [...internal.builtins];
function parentOf(filename) {
  const path = String(filename instanceof URL ? filename.href : filename).replace(/^file:\/\//, "");
  return path.startsWith("/node_modules/") ? path : "";
}
function createRequire(filename) {
  return internal.makeRequire(parentOf(filename));
}
const isBuiltin = (name) => {
  const bare = String(name).replace(/^node:/, "");
  return builtinModules.includes(bare);
};

class Module {
  constructor(id = "", parent) {
    this.id = id;
    this.filename = id;
    this.exports = {};
    this.parent = parent;
    this.loaded = false;
    this.children = [];
    this.paths = [];
  }
  require(request) {
    return createRequire(this.filename)(request);
  }
  static createRequire = createRequire;
  static builtinModules = builtinModules;
  static isBuiltin = isBuiltin;
  static _cache = Object.create(null);
  static _extensions = Object.create(null);
  static _pathCache = Object.create(null);
  static globalPaths = [];
  static wrapper = ["(function (exports, require, module, __filename, __dirname) { ", "\n});"];
  static wrap(script) {
    return Module.wrapper[0] + script + Module.wrapper[1];
  }
  static _load(request, parent) {
    return createRequire(parent?.filename ?? "")(request);
  }
  static _resolveFilename(request, parent) {
    return createRequire(parent?.filename ?? "").resolve(request);
  }
  static _nodeModulePaths() {
    return ["/node_modules"];
  }
  static syncBuiltinESMExports() {}
  static findSourceMap() {
    return undefined;
  }
  static register() {}
  static registerHooks() {}
  static enableCompileCache() {
    return { status: 3 };
  }
  static getCompileCacheDir() {
    return undefined;
  }
  static findPackageJSON() {
    return undefined;
  }
  static stripTypeScriptTypes(code) {
    return code;
  }
}
Module.Module = Module;
Module.constants = Object.freeze({ compileCacheStatus: Object.freeze({ FAILED: 0, ENABLED: 1, ALREADY_ENABLED: 2, DISABLED: 3 }) });
class SourceMap {
  constructor(payload) {
    this.payload = payload;
  }
  findEntry() {
    return {};
  }
}
Module.SourceMap = SourceMap;
module.exports = Module;
0 && (module.exports = {
  createRequire, builtinModules, isBuiltin, Module, _cache, _extensions, _load, _resolveFilename, _nodeModulePaths,
  wrap, wrapper, syncBuiltinESMExports, findSourceMap, register, registerHooks, SourceMap, constants,
  enableCompileCache, globalPaths,
});
