// node:async_hooks: AsyncLocalStorage and AsyncResource on V8's
// continuation-preserved context (deno_core's AsyncVariable), so a store
// follows promises, timers and callbacks like in Node. createHook answers
// hooks that never fire.
"use strict";

const { core } = internal;

class AsyncLocalStorage {
  #variable = new core.AsyncVariable();
  #enabled = false;
  static bind(fn) {
    return AsyncResource.bind(fn);
  }
  static snapshot() {
    const context = core.getAsyncContext();
    return (fn, ...args) => {
      const previous = core.getAsyncContext();
      core.setAsyncContext(context);
      try {
        return fn(...args);
      } finally {
        core.setAsyncContext(previous);
      }
    };
  }
  run(store, callback, ...args) {
    this.#enabled = true;
    const previous = this.#variable.enter(store);
    try {
      return callback(...args);
    } finally {
      core.setAsyncContext(previous);
    }
  }
  exit(callback, ...args) {
    return this.run(undefined, callback, ...args);
  }
  enterWith(store) {
    this.#enabled = true;
    this.#variable.enter(store);
  }
  getStore() {
    return this.#enabled ? this.#variable.get() : undefined;
  }
  disable() {
    this.#enabled = false;
    this.#variable.enter(undefined);
  }
}

let nextAsyncId = 2;
class AsyncResource {
  #context = core.getAsyncContext();
  #asyncId = nextAsyncId++;
  constructor(type, options) {
    this.type = type;
    this.triggerId = typeof options === "number" ? options : options?.triggerAsyncId ?? 1;
  }
  runInAsyncScope(fn, thisArg, ...args) {
    const previous = core.getAsyncContext();
    core.setAsyncContext(this.#context);
    try {
      return Reflect.apply(fn, thisArg, args);
    } finally {
      core.setAsyncContext(previous);
    }
  }
  emitDestroy() {
    return this;
  }
  asyncId() {
    return this.#asyncId;
  }
  triggerAsyncId() {
    return this.triggerId;
  }
  bind(fn, thisArg) {
    const bound = (...args) => this.runInAsyncScope(fn, thisArg, ...args);
    Object.defineProperty(bound, "length", { value: fn.length });
    bound.asyncResource = this;
    return bound;
  }
  static bind(fn, type, thisArg) {
    return new AsyncResource(type ?? fn.name ?? "bound-anonymous-fn").bind(fn, thisArg);
  }
}

const createHook = () => ({ enable() { return this; }, disable() { return this; } });
const executionAsyncId = () => 1;
const triggerAsyncId = () => 0;
const executionAsyncResource = () => ({});
const asyncWrapProviders = Object.freeze({ NONE: 0, PROMISE: 29, TIMERWRAP: 0 });
module.exports = {
  AsyncLocalStorage, AsyncResource, createHook, executionAsyncId, triggerAsyncId, executionAsyncResource, asyncWrapProviders,
};
