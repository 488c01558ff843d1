// node:readline: interfaces over streams work; there is no terminal.
"use strict";
const EventEmitter = require("events");

class Interface extends EventEmitter {
  constructor(input, output) {
    super();
    const options = input && typeof input.on === "function" ? { input, output } : input ?? {};
    this.input = options.input;
    this.output = options.output;
    this.terminal = false;
    this.line = "";
    this.closed = false;
    let pending = "";
    const onData = (chunk) => {
      pending += typeof chunk === "string" ? chunk : chunk.toString("utf8");
      let i;
      while ((i = pending.search(/\r?\n/)) !== -1) {
        const line = pending.slice(0, i);
        pending = pending.slice(pending[i] === "\r" ? i + 2 : i + 1);
        this.emit("line", line);
      }
    };
    const onEnd = () => {
      if (pending) this.emit("line", pending);
      pending = "";
      this.close();
    };
    this.input?.on?.("data", onData);
    this.input?.on?.("end", onEnd);
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.emit("close");
  }
  pause() {
    return this;
  }
  resume() {
    return this;
  }
  setPrompt() {}
  prompt() {}
  question(_query, callback) {
    this.once("line", callback);
  }
  write() {}
  getCursorPos() {
    return { rows: 0, cols: 0 };
  }
  [Symbol.asyncIterator]() {
    return require("events").on(this, "line", { close: ["close"] })[Symbol.asyncIterator]();
  }
}
const createInterface = (input, output) => new Interface(input, output);
const clearLine = () => true;
const clearScreenDown = () => true;
const cursorTo = () => true;
const moveCursor = () => true;
const emitKeypressEvents = () => {};
const promises = { Interface, createInterface };
module.exports = { Interface, createInterface, clearLine, clearScreenDown, cursorTo, moveCursor, emitKeypressEvents, promises };
