// node:net: address helpers work; sockets and servers are not available
// (outbound traffic goes through fetch and http, under the egress policy).
"use strict";

const { unavailable, unavailableClass } = internal.lib("errors");
const EventEmitter = require("events");

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
function isIPv4(input) {
  return IPV4.test(String(input));
}
function isIPv6(input) {
  const s = String(input);
  if (!s.includes(":") || /[^0-9a-fA-F:.%]/.test(s.replace(/%.*$/, ""))) return false;
  try {
    new URL(`http://[${s.replace(/%.*$/, "")}]/`);
    return true;
  } catch {
    return false;
  }
}
function isIP(input) {
  return isIPv4(input) ? 4 : isIPv6(input) ? 6 : 0;
}

class Socket extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.connecting = false;
    this.destroyed = false;
  }
  connect() {
    unavailable("net.Socket.connect")();
  }
  setTimeout() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  destroy() {
    this.destroyed = true;
    return this;
  }
  end() {
    return this;
  }
}
class BlockList {
  #rules = [];
  addAddress(address) {
    this.#rules.push(address);
  }
  addRange() {}
  addSubnet() {}
  check(address) {
    return this.#rules.includes(address);
  }
}
class SocketAddress {
  constructor(options = {}) {
    this.address = options.address ?? "127.0.0.1";
    this.port = options.port ?? 0;
    this.family = options.family ?? "ipv4";
    this.flowlabel = options.flowlabel ?? 0;
  }
}

const connect = unavailable("net.connect");
const createConnection = unavailable("net.createConnection");
const createServer = unavailable("net.createServer");
const Server = unavailableClass("net.Server");
const Stream = Socket;
const getDefaultAutoSelectFamily = () => true;
const setDefaultAutoSelectFamily = () => {};
module.exports = {
  isIP, isIPv4, isIPv6, Socket, Stream, BlockList, SocketAddress, connect, createConnection, createServer, Server,
  getDefaultAutoSelectFamily, setDefaultAutoSelectFamily,
};
