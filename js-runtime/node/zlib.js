// node:zlib: gzip, deflate (zlib and raw) and brotli through the host's
// codecs (engine/zlib.rs), as Transform streams, callbacks, promises-free
// sync calls, and crc32, with Node's names, constants and error codes.
"use strict";

const { op_chatfn_zlib_new, op_chatfn_zlib_write, op_chatfn_zlib_close, op_chatfn_zlib_crc32 } = internal.ops;
const { Transform } = require("stream");

const constants = Object.freeze({
  Z_NO_FLUSH: 0, Z_PARTIAL_FLUSH: 1, Z_SYNC_FLUSH: 2, Z_FULL_FLUSH: 3, Z_FINISH: 4, Z_BLOCK: 5, Z_TREES: 6,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3, Z_MEM_ERROR: -4,
  Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6, Z_NO_COMPRESSION: 0, Z_BEST_SPEED: 1, Z_BEST_COMPRESSION: 9,
  Z_DEFAULT_COMPRESSION: -1, Z_FILTERED: 1, Z_HUFFMAN_ONLY: 2, Z_RLE: 3, Z_FIXED: 4, Z_DEFAULT_STRATEGY: 0,
  ZLIB_VERNUM: 4865, DEFLATE: 1, INFLATE: 2, GZIP: 3, GUNZIP: 4, DEFLATERAW: 5, INFLATERAW: 6, UNZIP: 7,
  BROTLI_DECODE: 8, BROTLI_ENCODE: 9, Z_MIN_WINDOWBITS: 8, Z_MAX_WINDOWBITS: 15, Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_CHUNK: 64, Z_MAX_CHUNK: Infinity, Z_DEFAULT_CHUNK: 16384, Z_MIN_MEMLEVEL: 1, Z_MAX_MEMLEVEL: 9,
  Z_DEFAULT_MEMLEVEL: 8, Z_MIN_LEVEL: -1, Z_MAX_LEVEL: 9, Z_DEFAULT_LEVEL: -1, BROTLI_OPERATION_PROCESS: 0,
  BROTLI_OPERATION_FLUSH: 1, BROTLI_OPERATION_FINISH: 2, BROTLI_OPERATION_EMIT_METADATA: 3, BROTLI_PARAM_MODE: 0,
  BROTLI_MODE_GENERIC: 0, BROTLI_MODE_TEXT: 1, BROTLI_MODE_FONT: 2, BROTLI_DEFAULT_MODE: 0, BROTLI_PARAM_QUALITY: 1,
  BROTLI_MIN_QUALITY: 0, BROTLI_MAX_QUALITY: 11, BROTLI_DEFAULT_QUALITY: 11, BROTLI_PARAM_LGWIN: 2,
  BROTLI_MIN_WINDOW_BITS: 10, BROTLI_MAX_WINDOW_BITS: 24, BROTLI_LARGE_MAX_WINDOW_BITS: 30,
  BROTLI_DEFAULT_WINDOW: 22, BROTLI_PARAM_LGBLOCK: 3, BROTLI_MIN_INPUT_BLOCK_BITS: 16,
  BROTLI_MAX_INPUT_BLOCK_BITS: 24, BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING: 4, BROTLI_PARAM_SIZE_HINT: 5,
  BROTLI_PARAM_LARGE_WINDOW: 6, BROTLI_PARAM_NPOSTFIX: 7, BROTLI_PARAM_NDIRECT: 8,
  BROTLI_DECODER_RESULT_ERROR: 0, BROTLI_DECODER_RESULT_SUCCESS: 1, BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: 2,
  BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: 3, BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION: 0,
  BROTLI_DECODER_PARAM_LARGE_WINDOW: 1, BROTLI_DECODER_NO_ERROR: 0, BROTLI_DECODER_SUCCESS: 1,
  BROTLI_DECODER_NEEDS_MORE_INPUT: 2, BROTLI_DECODER_NEEDS_MORE_OUTPUT: 3, BROTLI_DECODER_ERROR_UNREACHABLE: -31,
});
const ERRNO = { Z_DATA_ERROR: -3, Z_BUF_ERROR: -5, Z_STREAM_ERROR: -2 };

// The host's error carries Node's code; Node's class and errno are added here.
function zlibError(e) {
  const code = e?.code ?? "Z_DATA_ERROR";
  const error = code === "ERR_BUFFER_TOO_LARGE" ? new RangeError(e.message) : new Error(e.message);
  error.code = code;
  if (ERRNO[code] !== undefined) error.errno = ERRNO[code];
  return error;
}

function toBytes(chunk, encoding) {
  if (typeof chunk === "string") return Buffer.from(chunk, encoding);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const error = new TypeError('The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer.');
  error.code = "ERR_INVALID_ARG_TYPE";
  throw error;
}

function open(mode, options = {}) {
  const params = options.params ?? {};
  const quality = params[constants.BROTLI_PARAM_QUALITY] ?? constants.BROTLI_DEFAULT_QUALITY;
  const window = params[constants.BROTLI_PARAM_LGWIN] ?? constants.BROTLI_DEFAULT_WINDOW;
  const level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
  try {
    return op_chatfn_zlib_new(mode, level, quality, window, options.maxOutputLength ?? 0);
  } catch (e) {
    throw zlibError(e);
  }
}
function feed(id, bytes, flush) {
  try {
    // Copied into a buffer the runtime's budget counts.
    const out = internal.host.counted(op_chatfn_zlib_write(id, bytes, flush));
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw zlibError(e);
  }
}

class ZlibBase extends Transform {
  #id;
  #mode;
  constructor(mode, options = {}) {
    super({ ...options, autoDestroy: true });
    this.#mode = mode;
    this.#id = open(mode, options);
    this._finishFlushFlag = options.finishFlush ?? constants.Z_FINISH;
    this.bytesWritten = 0;
    this._handle = {};
  }
  get _closed() {
    return this.#id === 0;
  }
  _transform(chunk, encoding, callback) {
    try {
      const bytes = toBytes(chunk, encoding);
      this.bytesWritten += bytes.length;
      const out = feed(this.#id, bytes, constants.Z_NO_FLUSH);
      if (out.length) this.push(out);
      callback();
    } catch (e) {
      this.#id = 0;
      callback(e);
    }
  }
  _flush(callback) {
    try {
      const finish = this._finishFlushFlag === constants.Z_SYNC_FLUSH ? constants.Z_SYNC_FLUSH : constants.Z_FINISH;
      const out = feed(this.#id, new Uint8Array(0), finish);
      if (finish === constants.Z_FINISH) this.#id = 0;
      if (out.length) this.push(out);
      callback();
    } catch (e) {
      this.#id = 0;
      callback(e);
    }
  }
  flush(kind, callback) {
    if (typeof kind === "function") [callback, kind] = [kind, constants.Z_FULL_FLUSH];
    this.write(Buffer.alloc(0), () => {
      try {
        const out = feed(this.#id, new Uint8Array(0), constants.Z_SYNC_FLUSH);
        if (out.length) this.push(out);
        callback?.();
      } catch (e) {
        this.destroy(e);
      }
    });
  }
  params(level, strategy, callback) {
    process.nextTick(callback ?? (() => {}));
  }
  reset() {
    if (this.#id) op_chatfn_zlib_close(this.#id);
    this.#id = open(this.#mode, {});
  }
  close(callback) {
    if (callback) this.once("close", callback);
    this._destroy(null, () => this.emit("close"));
  }
  _destroy(error, callback) {
    if (this.#id) op_chatfn_zlib_close(this.#id);
    this.#id = 0;
    callback(error);
  }
}

const MODES = {
  Gzip: "gzip", Gunzip: "gunzip", Deflate: "deflate", Inflate: "inflate", DeflateRaw: "deflateRaw",
  InflateRaw: "inflateRaw", Unzip: "unzip", BrotliCompress: "brotliCompress", BrotliDecompress: "brotliDecompress",
};
const classes = {};
for (const [name, mode] of Object.entries(MODES)) {
  const C = {
    [name]: class extends ZlibBase {
      constructor(options) {
        super(mode, options);
      }
    },
  }[name];
  classes[name] = C;
}
const { Gzip, Gunzip, Deflate, Inflate, DeflateRaw, InflateRaw, Unzip, BrotliCompress, BrotliDecompress } = classes;

function syncCall(mode) {
  return function (buffer, options = {}) {
    const id = open(mode, options);
    const out = feed(id, toBytes(buffer), constants.Z_FINISH);
    return options.info ? { buffer: out, engine: {} } : out;
  };
}
function asyncCall(sync) {
  return function (buffer, options, callback) {
    if (typeof options === "function") [callback, options] = [options, {}];
    if (typeof callback !== "function") {
      const error = new TypeError('The "callback" argument must be of type function');
      error.code = "ERR_INVALID_ARG_TYPE";
      throw error;
    }
    let result;
    try {
      result = sync(buffer, options);
    } catch (e) {
      process.nextTick(callback, e);
      return;
    }
    process.nextTick(callback, null, result);
  };
}

const gzipSync = syncCall("gzip");
const gunzipSync = syncCall("gunzip");
const deflateSync = syncCall("deflate");
const inflateSync = syncCall("inflate");
const deflateRawSync = syncCall("deflateRaw");
const inflateRawSync = syncCall("inflateRaw");
const unzipSync = syncCall("unzip");
const brotliCompressSync = syncCall("brotliCompress");
const brotliDecompressSync = syncCall("brotliDecompress");
const gzip = asyncCall(gzipSync);
const gunzip = asyncCall(gunzipSync);
const deflate = asyncCall(deflateSync);
const inflate = asyncCall(inflateSync);
const deflateRaw = asyncCall(deflateRawSync);
const inflateRaw = asyncCall(inflateRawSync);
const unzip = asyncCall(unzipSync);
const brotliCompress = asyncCall(brotliCompressSync);
const brotliDecompress = asyncCall(brotliDecompressSync);

const createGzip = (o) => new Gzip(o);
const createGunzip = (o) => new Gunzip(o);
const createDeflate = (o) => new Deflate(o);
const createInflate = (o) => new Inflate(o);
const createDeflateRaw = (o) => new DeflateRaw(o);
const createInflateRaw = (o) => new InflateRaw(o);
const createUnzip = (o) => new Unzip(o);
const createBrotliCompress = (o) => new BrotliCompress(o);
const createBrotliDecompress = (o) => new BrotliDecompress(o);

const crc32 = (data, value = 0) => op_chatfn_zlib_crc32(toBytes(data), value >>> 0);
const codes = Object.freeze({ Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3, Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6 });

module.exports = {
  constants, codes, crc32, Gzip, Gunzip, Deflate, Inflate, DeflateRaw, InflateRaw, Unzip, BrotliCompress,
  BrotliDecompress, gzip, gunzip, deflate, inflate, deflateRaw, inflateRaw, unzip, brotliCompress, brotliDecompress,
  gzipSync, gunzipSync, deflateSync, inflateSync, deflateRawSync, inflateRawSync, unzipSync, brotliCompressSync,
  brotliDecompressSync, createGzip, createGunzip, createDeflate, createInflate, createDeflateRaw, createInflateRaw,
  createUnzip, createBrotliCompress, createBrotliDecompress,
};
// Node also exposes every constant at the top level.
for (const [k, v] of Object.entries(constants)) if (!(k in module.exports)) module.exports[k] = v;
