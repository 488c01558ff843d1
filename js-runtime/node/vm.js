// node:vm: loadable; new contexts and compiling code are not available.
"use strict";
const { unavailable, unavailableClass } = internal.lib("errors");
const isContext = () => false;
module.exports = {
  Script: unavailableClass("vm.Script"),
  createContext: unavailable("vm.createContext"),
  runInContext: unavailable("vm.runInContext"),
  runInNewContext: unavailable("vm.runInNewContext"),
  runInThisContext: unavailable("vm.runInThisContext"),
  compileFunction: unavailable("vm.compileFunction"),
  isContext,
  constants: Object.freeze({}),
};
0 && (module.exports = { Script, createContext, runInContext, runInNewContext, runInThisContext, compileFunction, isContext, constants });
