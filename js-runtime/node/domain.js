// node:domain (deprecated): domains that only run their functions.
"use strict";
const EventEmitter = require("events");
class Domain extends EventEmitter {
  constructor() {
    super();
    this.members = [];
  }
  run(fn, ...args) {
    try {
      return fn(...args);
    } catch (error) {
      if (this.listenerCount("error") > 0) this.emit("error", error);
      else throw error;
    }
  }
  add(member) {
    this.members.push(member);
  }
  remove(member) {
    this.members = this.members.filter((m) => m !== member);
  }
  bind(fn) {
    return (...args) => this.run(fn, ...args);
  }
  intercept(fn) {
    return (error, ...args) => (error ? this.emit("error", error) : this.run(fn, ...args));
  }
  enter() {}
  exit() {}
  dispose() {}
}
const create = () => new Domain();
module.exports = { Domain, create, createDomain: create, active: null };
