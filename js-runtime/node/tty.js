// node:tty: there is no terminal.
"use strict";
const net = require("net");
class ReadStream extends net.Socket {
  isTTY = false;
}
class WriteStream extends net.Socket {
  isTTY = false;
  columns = 80;
  rows = 24;
  getColorDepth() {
    return 1;
  }
  hasColors() {
    return false;
  }
  getWindowSize() {
    return [80, 24];
  }
}
const isatty = () => false;
module.exports = { isatty, ReadStream, WriteStream };
