// node:events: Node's EventEmitter (the `events` package), with what
// Node 22 added since: errorMonitor, on(), getEventListeners,
// setMaxListeners, addAbortListener, EventEmitterAsyncResource.
"use strict";

const EventEmitter = internal.vendor("events");

const errorMonitor = Symbol("events.errorMonitor");
const captureRejectionSymbol = Symbol.for("nodejs.rejection");
const originalEmit = EventEmitter.prototype.emit;
EventEmitter.prototype.emit = function emit(type, ...args) {
  if (type === "error" && this._events !== undefined && this._events[errorMonitor] !== undefined) {
    originalEmit.call(this, errorMonitor, ...args);
  }
  return originalEmit.call(this, type, ...args);
};

const { abortError } = internal.lib("errors");

/** Node's `events.once` with an AbortSignal and EventTarget support. */
function once(emitter, name, options = {}) {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    if (typeof emitter.addEventListener === "function" && typeof emitter.on !== "function") {
      const listener = (...args) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(args);
      };
      const onAbort = () => {
        emitter.removeEventListener(name, listener);
        reject(abortError(signal));
      };
      emitter.addEventListener(name, listener, { once: true });
      signal?.addEventListener("abort", onAbort, { once: true });
      return;
    }
    const onError = (error) => {
      emitter.removeListener(name, onEvent);
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    };
    const onEvent = (...args) => {
      if (name !== "error") emitter.removeListener("error", onError);
      signal?.removeEventListener("abort", onAbort);
      resolve(args);
    };
    const onAbort = () => {
      emitter.removeListener(name, onEvent);
      emitter.removeListener("error", onError);
      reject(abortError(signal));
    };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** An async iterator over `name` events (`for await (const [x] of on(e, "data"))`). */
function on(emitter, name, options = {}) {
  const signal = options?.signal;
  const queue = [];
  const waiting = [];
  let error = null;
  let done = false;
  const onEvent = (...args) => {
    if (waiting.length) waiting.shift().resolve({ value: args, done: false });
    else queue.push(args);
  };
  const onError = (e) => {
    done = true;
    if (waiting.length) waiting.shift().reject(e);
    else error = e;
    cleanup();
  };
  const cleanup = () => {
    emitter.removeListener(name, onEvent);
    emitter.removeListener("error", onError);
    signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = () => onError(abortError(signal));
  emitter.on(name, onEvent);
  if (name !== "error") emitter.on("error", onError);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  return {
    next() {
      if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
      if (error) {
        const e = error;
        error = null;
        return Promise.reject(e);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      done = true;
      cleanup();
      for (const w of waiting.splice(0)) w.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(e) {
      onError(e);
      return Promise.reject(e);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function getEventListeners(target, name) {
  if (typeof target.listeners === "function") return target.listeners(name);
  return [];
}
function getMaxListeners(target) {
  return typeof target.getMaxListeners === "function" ? target.getMaxListeners() : EventEmitter.defaultMaxListeners;
}
function setMaxListeners(n = EventEmitter.defaultMaxListeners, ...targets) {
  if (targets.length === 0) EventEmitter.defaultMaxListeners = n;
  for (const target of targets) if (typeof target.setMaxListeners === "function") target.setMaxListeners(n);
}
function addAbortListener(signal, listener) {
  if (signal.aborted) {
    queueMicrotask(() => listener());
  } else {
    signal.addEventListener("abort", listener, { once: true });
  }
  return { [Symbol.dispose]() { signal.removeEventListener("abort", listener); } };
}
function listenerCount(emitter, name) {
  return emitter.listenerCount(name);
}

class EventEmitterAsyncResource extends EventEmitter {
  constructor(options) {
    super(options);
    this.asyncResource = { type: options?.name ?? "EventEmitterAsyncResource" };
  }
  emitDestroy() {}
}

Object.assign(EventEmitter, {
  once, on, errorMonitor, captureRejectionSymbol, captureRejections: false, getEventListeners, getMaxListeners,
  setMaxListeners, addAbortListener, listenerCount, EventEmitterAsyncResource, usingDomains: false,
});
module.exports = EventEmitter;
0 && (module.exports = {
  EventEmitter, once, on, errorMonitor, captureRejectionSymbol, captureRejections, getEventListeners, getMaxListeners,
  setMaxListeners, addAbortListener, listenerCount, EventEmitterAsyncResource, defaultMaxListeners, init, usingDomains,
});
