// node:stream/web: the WHATWG streams (web-streams-polyfill, a
// spec-following implementation), also the globals of the same names.
"use strict";
const streams = internal.vendor("web_streams");

class TextEncoderStream extends streams.TransformStream {
  constructor() {
    const encoder = new TextEncoder();
    super({ transform: (chunk, controller) => controller.enqueue(encoder.encode(String(chunk))) });
    this.encoding = "utf-8";
  }
}
class TextDecoderStream extends streams.TransformStream {
  constructor(label = "utf-8", options = {}) {
    const decoder = new TextDecoder(label, options);
    super({
      transform: (chunk, controller) => {
        const text = decoder.decode(chunk, { stream: true });
        if (text) controller.enqueue(text);
      },
      flush: (controller) => {
        const text = decoder.decode();
        if (text) controller.enqueue(text);
      },
    });
    this.encoding = decoder.encoding;
  }
}
function compressionStream(mode, format) {
  const zlib = require("zlib");
  const make = {
    compress: { gzip: zlib.createGzip, deflate: zlib.createDeflate, "deflate-raw": zlib.createDeflateRaw },
    decompress: { gzip: zlib.createGunzip, deflate: zlib.createInflate, "deflate-raw": zlib.createInflateRaw },
  }[mode][format];
  if (!make) throw new TypeError(`Unsupported compression format: '${format}'`);
  const transform = make();
  const chunks = [];
  transform.on("data", (chunk) => chunks.push(new Uint8Array(chunk)));
  const drain = (controller) => {
    while (chunks.length) controller.enqueue(chunks.shift());
  };
  return {
    transform(chunk, controller) {
      return new Promise((resolve, reject) => transform.write(chunk, (error) => (error ? reject(error) : (drain(controller), resolve()))));
    },
    flush(controller) {
      return new Promise((resolve, reject) => {
        transform.once("error", reject);
        transform.end(() => {
          drain(controller);
          resolve();
        });
      });
    },
  };
}
class CompressionStream extends streams.TransformStream {
  constructor(format) {
    super(compressionStream("compress", format));
  }
}
class DecompressionStream extends streams.TransformStream {
  constructor(format) {
    super(compressionStream("decompress", format));
  }
}

module.exports = { ...streams, TextEncoderStream, TextDecoderStream, CompressionStream, DecompressionStream };
0 && (module.exports = {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableByteStreamController, ReadableStream,
  ReadableStreamBYOBReader, ReadableStreamBYOBRequest, ReadableStreamDefaultController, ReadableStreamDefaultReader,
  TransformStream, TransformStreamDefaultController, WritableStream, WritableStreamDefaultController,
  WritableStreamDefaultWriter, TextEncoderStream, TextDecoderStream, CompressionStream, DecompressionStream,
});
