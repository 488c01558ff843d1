// node:assert/strict
"use strict";
module.exports = require("assert").strict;
0 && (module.exports = {
  ok, AssertionError, fail, equal, notEqual, strictEqual, notStrictEqual, deepEqual, notDeepEqual, deepStrictEqual,
  notDeepStrictEqual, throws, rejects, doesNotThrow, doesNotReject, ifError, match, doesNotMatch, strict,
});
