// node:punycode (deprecated in Node, still loaded by packages): the `punycode` package.
"use strict";
const punycode = internal.vendor("punycode");
module.exports = punycode;
0 && (module.exports = { decode, encode, toASCII, toUnicode, ucs2, version });
