// node:string_decoder: Node's own StringDecoder (the `string_decoder` package).
"use strict";
const { StringDecoder } = internal.vendor("string_decoder");
module.exports = { StringDecoder };
