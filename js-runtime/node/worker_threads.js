// node:worker_threads: the one thread there is; no workers.
"use strict";
const { unavailableClass } = internal.lib("errors");
const EventEmitter = require("events");

class MessagePort extends EventEmitter {
  #other = null;
  postMessage(message) {
    const other = this.#other;
    if (other) queueMicrotask(() => other.emit("message", structuredClone(message)));
  }
  start() {}
  close() {
    this.emit("close");
  }
  ref() {}
  unref() {}
  static pair(a, b) {
    a.#other = b;
    b.#other = a;
  }
}
class MessageChannel {
  constructor() {
    this.port1 = new MessagePort();
    this.port2 = new MessagePort();
    MessagePort.pair(this.port1, this.port2);
  }
}
class BroadcastChannel extends EventEmitter {
  constructor(name) {
    super();
    this.name = name;
  }
  postMessage() {}
  close() {}
}
const isMainThread = true;
const parentPort = null;
const workerData = null;
const threadId = 0;
const resourceLimits = {};
const SHARE_ENV = Symbol("SHARE_ENV");
const Worker = unavailableClass("worker_threads.Worker");
const environmentData = new Map();
const getEnvironmentData = (key) => environmentData.get(key);
const setEnvironmentData = (key, value) => environmentData.set(key, value);
const markAsUntransferable = () => {};
const isMarkedAsUntransferable = () => false;
const moveMessagePortToContext = (port) => port;
const receiveMessageOnPort = () => undefined;
module.exports = {
  isMainThread, parentPort, workerData, threadId, resourceLimits, SHARE_ENV, Worker, MessageChannel, MessagePort,
  BroadcastChannel, getEnvironmentData, setEnvironmentData, markAsUntransferable, isMarkedAsUntransferable,
  moveMessagePortToContext, receiveMessageOnPort,
};
