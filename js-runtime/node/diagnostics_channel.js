// node:diagnostics_channel: named channels within the runtime.
"use strict";

class Channel {
  #subscribers = [];
  constructor(name) {
    this.name = name;
  }
  get hasSubscribers() {
    return this.#subscribers.length > 0;
  }
  subscribe(fn) {
    this.#subscribers.push(fn);
  }
  unsubscribe(fn) {
    const i = this.#subscribers.indexOf(fn);
    if (i === -1) return false;
    this.#subscribers.splice(i, 1);
    return true;
  }
  publish(message) {
    for (const fn of [...this.#subscribers]) {
      try {
        fn(message, this.name);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
  bindStore() {}
  unbindStore() {}
  runStores(data, fn, thisArg, ...args) {
    this.publish(data);
    return Reflect.apply(fn, thisArg, args);
  }
}
const channels = new Map();
function channel(name) {
  let found = channels.get(name);
  if (!found) channels.set(name, (found = new Channel(name)));
  return found;
}
const hasSubscribers = (name) => channels.get(name)?.hasSubscribers ?? false;
const subscribe = (name, fn) => channel(name).subscribe(fn);
const unsubscribe = (name, fn) => channel(name).unsubscribe(fn);

class TracingChannel {
  constructor(nameOrChannels) {
    const names = ["start", "end", "asyncStart", "asyncEnd", "error"];
    for (const n of names) {
      this[n] = typeof nameOrChannels === "string" ? channel(`tracing:${nameOrChannels}:${n}`) : nameOrChannels[n];
    }
  }
  get hasSubscribers() {
    return this.start.hasSubscribers || this.end.hasSubscribers || this.error.hasSubscribers;
  }
  subscribe(handlers) {
    for (const [k, fn] of Object.entries(handlers)) this[k]?.subscribe(fn);
  }
  unsubscribe(handlers) {
    for (const [k, fn] of Object.entries(handlers)) this[k]?.unsubscribe(fn);
  }
  traceSync(fn, context = {}, thisArg, ...args) {
    this.start.publish(context);
    try {
      const result = Reflect.apply(fn, thisArg, args);
      context.result = result;
      return result;
    } catch (error) {
      context.error = error;
      this.error.publish(context);
      throw error;
    } finally {
      this.end.publish(context);
    }
  }
  tracePromise(fn, context = {}, thisArg, ...args) {
    this.start.publish(context);
    try {
      return Promise.resolve(Reflect.apply(fn, thisArg, args)).then(
        (result) => {
          context.result = result;
          this.asyncEnd.publish(context);
          return result;
        },
        (error) => {
          context.error = error;
          this.error.publish(context);
          this.asyncEnd.publish(context);
          throw error;
        },
      );
    } finally {
      this.end.publish(context);
    }
  }
  traceCallback(fn, position = -1, context = {}, thisArg, ...args) {
    return this.traceSync(fn, context, thisArg, ...args);
  }
}
const tracingChannel = (name) => new TracingChannel(name);
module.exports = { channel, hasSubscribers, subscribe, unsubscribe, tracingChannel, Channel, TracingChannel };
