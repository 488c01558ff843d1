// node:dgram: loadable; UDP is not available.
"use strict";
const { unavailable, unavailableClass } = internal.lib("errors");
module.exports = { createSocket: unavailable("dgram.createSocket"), Socket: unavailableClass("dgram.Socket") };
