// node:stream: Node's own streams (the `readable-stream` package, Node 18's
// lib/stream), with stream/promises attached as in Node.
"use strict";
const Stream = internal.vendor("stream");
module.exports = Stream;
0 && (module.exports = {
  Stream, Readable, Writable, Duplex, Transform, PassThrough, pipeline, finished, addAbortSignal, compose, destroy,
  isDisturbed, isErrored, isReadable, promises, getDefaultHighWaterMark, setDefaultHighWaterMark, duplexPair,
  _isUint8Array, _uint8ArrayToBuffer,
});
