// node:stream/promises
"use strict";
const { promises } = require("stream");
module.exports = promises;
0 && (module.exports = { pipeline, finished });
