// node:crypto: hashes and HMACs, random values and the Web Crypto global
// through the host's RustCrypto ops (engine/crypto.rs).
"use strict";

const { op_chatfn_digest, op_chatfn_random_bytes } = internal.ops;
const { unavailable } = internal.lib("unavailable");

const toBytes = (data, encoding) => {
  if (typeof data === "string") return Buffer.from(data, encoding ?? "utf8");
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const error = new TypeError('The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView.');
  error.code = "ERR_INVALID_ARG_TYPE";
  throw error;
};
// As in Node: a Buffer, or a string in the asked encoding.
const output = (bytes, encoding) => {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding === undefined || encoding === "buffer" ? buffer : buffer.toString(encoding);
};
const ALGORITHMS = {
  md5: "md5", sha1: "sha1", sha224: "sha224", sha256: "sha256", sha384: "sha384", sha512: "sha512",
  "sha-1": "sha1", "sha-224": "sha224", "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512",
  "rsa-md5": "md5", "rsa-sha1": "sha1", "rsa-sha256": "sha256", "rsa-sha384": "sha384", "rsa-sha512": "sha512",
};
function algorithmOf(name) {
  const found = ALGORITHMS[String(name).toLowerCase()];
  if (!found) throw new Error("Digest method not supported");
  return found;
}

class Hash {
  #algorithm;
  #key;
  #chunks = [];
  #done = false;
  constructor(algorithm, key) {
    this.#algorithm = algorithmOf(algorithm);
    this.#key = key;
  }
  update(data, encoding) {
    if (this.#done) {
      const error = new Error("Digest already called");
      error.code = "ERR_CRYPTO_HASH_FINALIZED";
      throw error;
    }
    this.#chunks.push(toBytes(data, encoding).slice());
    return this;
  }
  digest(encoding) {
    if (this.#done) {
      const error = new Error("Digest already called");
      error.code = "ERR_CRYPTO_HASH_FINALIZED";
      throw error;
    }
    this.#done = true;
    const all = Buffer.concat(this.#chunks);
    return output(op_chatfn_digest(this.#algorithm, this.#key ?? null, all), encoding);
  }
  copy() {
    const copy = new Hash(this.#algorithm, this.#key);
    for (const chunk of this.#chunks) copy.update(chunk);
    return copy;
  }
}

function keyBytes(key) {
  if (key && typeof key === "object" && typeof key.export === "function") return key.export();
  return toBytes(key);
}
const createHash = (algorithm) => new Hash(algorithm, undefined);
const createHmac = (algorithm, key) => new Hash(algorithm, keyBytes(key));
const hash = (algorithm, data, encoding = "hex") => output(op_chatfn_digest(algorithmOf(algorithm), null, toBytes(data)), encoding);

function randomChunks(size) {
  const out = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    out.set(op_chatfn_random_bytes(Math.min(65536, size - offset)), offset);
  }
  return out;
}
function checkSize(size, name = "size") {
  if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size > 2 ** 31 - 1) {
    const error = new RangeError(`The value of "${name}" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`);
    error.code = "ERR_OUT_OF_RANGE";
    throw error;
  }
}
function randomBytes(size, callback) {
  checkSize(size);
  const bytes = Buffer.from(randomChunks(size).buffer);
  if (typeof callback === "function") {
    process.nextTick(callback, null, bytes);
    return undefined;
  }
  return bytes;
}
function randomFillSync(buffer, offset = 0, size) {
  const view = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  size ??= view.length - offset;
  checkSize(offset, "offset");
  if (offset + size > view.length) {
    const error = new RangeError(`The value of "size + offset" is out of range. It must be <= ${view.length}. Received ${offset + size}`);
    error.code = "ERR_OUT_OF_RANGE";
    throw error;
  }
  view.set(randomChunks(size), offset);
  return buffer;
}
function randomFill(buffer, offset, size, callback) {
  if (typeof offset === "function") [callback, offset, size] = [offset, 0, undefined];
  else if (typeof size === "function") [callback, size] = [size, undefined];
  try {
    randomFillSync(buffer, offset, size);
  } catch (e) {
    process.nextTick(callback, e);
    return;
  }
  process.nextTick(callback, null, buffer);
}
function randomInt(min, max, callback) {
  if (typeof max === "function" || max === undefined) [callback, max, min] = [max, min, 0];
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 2 ** 48) {
    const error = new RangeError(`The value of "max" is out of range. It must be greater than the value of "min" (${min}). Received ${max}`);
    error.code = "ERR_OUT_OF_RANGE";
    throw error;
  }
  // Rejection sampling over 48 random bits: no modulo bias.
  const range = max - min;
  const limit = 2 ** 48 - (2 ** 48 % range);
  let value;
  do {
    const b = op_chatfn_random_bytes(6);
    value = b[0] * 2 ** 40 + b[1] * 2 ** 32 + b[2] * 2 ** 24 + b[3] * 2 ** 16 + b[4] * 2 ** 8 + b[5];
  } while (value >= limit);
  const result = min + (value % range);
  if (typeof callback === "function") {
    process.nextTick(callback, null, result);
    return undefined;
  }
  return result;
}
function timingSafeEqual(a, b) {
  const x = toBytes(a);
  const y = toBytes(b);
  if (x.byteLength !== y.byteLength) {
    const error = new RangeError("Input buffers must have the same byte length");
    error.code = "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH";
    throw error;
  }
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

const webcrypto = globalThis.crypto;
const { getRandomValues, randomUUID } = webcrypto;
const subtle = webcrypto.subtle;
const getHashes = () => ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "RSA-MD5", "RSA-SHA1", "RSA-SHA256", "RSA-SHA384", "RSA-SHA512"];
const getCiphers = () => [];
const getCurves = () => [];
const constants = Object.freeze({ RSA_PKCS1_PADDING: 1, RSA_NO_PADDING: 3, RSA_PKCS1_OAEP_PADDING: 4, RSA_PKCS1_PSS_PADDING: 6, RSA_PSS_SALTLEN_DIGEST: -1, RSA_PSS_SALTLEN_MAX_SIGN: -2, RSA_PSS_SALTLEN_AUTO: -2, POINT_CONVERSION_COMPRESSED: 2, POINT_CONVERSION_UNCOMPRESSED: 4, POINT_CONVERSION_HYBRID: 6 });
const getFips = () => 0;
const setFips = () => {};

// Not in chat functions yet: each throws an error naming the call.
const NOT_YET = [
  "createSign", "createVerify", "sign", "verify", "createCipheriv", "createDecipheriv", "generateKeyPair",
  "generateKeyPairSync", "generateKey", "generateKeySync", "createPrivateKey", "createPublicKey", "createSecretKey",
  "createECDH", "createDiffieHellman", "createDiffieHellmanGroup", "getDiffieHellman", "diffieHellman", "publicEncrypt",
  "privateDecrypt", "privateEncrypt", "publicDecrypt", "pbkdf2", "pbkdf2Sync", "scrypt", "scryptSync", "hkdf",
  "hkdfSync", "generatePrime", "generatePrimeSync", "checkPrime", "checkPrimeSync",
];
const pending = {};
for (const name of NOT_YET) pending[name] = unavailable(`crypto.${name}`);
class KeyObject {
  constructor() {
    unavailable("crypto.KeyObject")();
  }
}
module.exports = {
  createHash, createHmac, hash, Hash, Hmac: Hash, randomBytes, pseudoRandomBytes: randomBytes, randomFillSync,
  randomFill, randomInt, randomUUID, getRandomValues, timingSafeEqual, webcrypto, subtle, getHashes, getCiphers,
  getCurves, constants, getFips, setFips, KeyObject, ...pending,
};
0 && (module.exports = {
  createSign, createVerify, sign, verify, createCipheriv, createDecipheriv, generateKeyPair, generateKeyPairSync,
  generateKey, generateKeySync, createPrivateKey, createPublicKey, createSecretKey, createECDH, createDiffieHellman,
  publicEncrypt, privateDecrypt, pbkdf2, pbkdf2Sync, scrypt, scryptSync, hkdf, hkdfSync,
});
