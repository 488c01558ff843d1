// node:constants (deprecated): os and fs constants together.
"use strict";
const os = require("os").constants;
module.exports = { ...os.errno, ...os.signals, ...os.priority, ...require("fs").constants };
