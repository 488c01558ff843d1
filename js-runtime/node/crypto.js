// node:crypto: hashes and HMACs, random values, keys (KeyObject), signatures,
// ciphers, Diffie-Hellman and key derivation through the host's RustCrypto
// ops (engine/crypto.rs, engine/keys.rs).
"use strict";

const { ops } = internal;
const { op_chatfn_digest, op_chatfn_random_bytes } = ops;
const { unavailable } = internal.lib("errors");

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

const kKey = Symbol("keyMaterial");
const kDer = Symbol("der");
const kInfo = Symbol("info");
const codedError = (Kind, message, code) => Object.assign(new Kind(message), { code });

/**
 * A key, as Node passes them around: secret (its bytes) or asymmetric
 * (canonical DER kept here, parsed by the host per use).
 */
class KeyObject {
  #type;
  constructor(type, material) {
    if (material === undefined || material[kKey] !== true) throw codedError(TypeError, "Illegal constructor", "ERR_ILLEGAL_CONSTRUCTOR");
    this.#type = type;
    if (type === "secret") this[kKey] = material.bytes;
    else {
      this[kDer] = material.info.der;
      this[kInfo] = material.info;
    }
  }
  get type() {
    return this.#type;
  }
  get symmetricKeySize() {
    return this.#type === "secret" ? this[kKey].length : undefined;
  }
  get asymmetricKeyType() {
    return this[kInfo]?.keyType;
  }
  get asymmetricKeyDetails() {
    const info = this[kInfo];
    if (!info) return undefined;
    if (info.keyType === "rsa" || info.keyType === "rsa-pss") return { modulusLength: info.modulusLength, publicExponent: BigInt(info.publicExponent) };
    if (info.keyType === "ec") return { namedCurve: info.namedCurve };
    return {};
  }
  export(options = {}) {
    if (this.#type === "secret") {
      const bytes = Buffer.from(this[kKey]);
      if (options?.format === "jwk") return { kty: "oct", k: bytes.toString("base64url") };
      return bytes;
    }
    const format = options.format ?? (options.type ? "pem" : undefined);
    if (format === "jwk") return ops.op_chatfn_key_export(this[kDer], this.#type, "jwk", "");
    if (format !== "pem" && format !== "der") throw codedError(TypeError, 'The property \'options.format\' must be one of: \'pem\', \'der\', \'jwk\'', "ERR_INVALID_ARG_VALUE");
    if (options.cipher !== undefined) throw codedError(Error, "Encrypted private keys are not supported in chat functions", "ERR_CHATFN_UNAVAILABLE");
    const type = options.type ?? (this.#type === "private" ? "pkcs8" : "spki");
    const out = ops.op_chatfn_key_export(this[kDer], this.#type, format, type);
    return format === "pem" ? out : Buffer.from(out);
  }
  equals(other) {
    if (!(other instanceof KeyObject) || other.type !== this.#type) return false;
    return this.#type === "secret" ? timingSafeEqualBytes(other[kKey], this[kKey]) : timingSafeEqualBytes(other[kDer], this[kDer]);
  }
  toCryptoKey(algorithm, extractable, usages) {
    return require("crypto").webcrypto.subtle._fromKeyObject(this, algorithm, extractable, usages);
  }
  static from(cryptoKey) {
    const keyObject = cryptoKey?.[Symbol.for("chatfn.keyObject")];
    if (!keyObject) throw codedError(TypeError, 'The "key" argument must be an instance of CryptoKey.', "ERR_INVALID_ARG_TYPE");
    return keyObject;
  }
}
const asymmetric = (info) => new KeyObject(info.kind, { [kKey]: true, info });
function createSecretKey(key, encoding) {
  const bytes = key instanceof KeyObject ? key[kKey] : toBytes(key, encoding).slice();
  return new KeyObject("secret", { [kKey]: true, bytes });
}
function keyBytes(key) {
  if (key instanceof KeyObject) {
    if (key.type !== "secret") throw codedError(TypeError, `Invalid key object type ${key.type}, expected secret.`, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE");
    return key[kKey];
  }
  return toBytes(key);
}

/** Node's key inputs: PEM text, a Buffer, { key, format, type, encoding }, a JWK, a KeyObject. */
function importKey(input, kind) {
  if (input instanceof KeyObject) {
    if (input.type === "secret") throw codedError(TypeError, "Invalid key object type secret, expected " + kind + ".", "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE");
    if (kind === "public" && input.type === "private") return asymmetric(ops.op_chatfn_key_public(input[kDer]));
    if (kind === "private" && input.type === "public") throw codedError(TypeError, "Invalid key object type public, expected private.", "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE");
    return input;
  }
  if (input?.[Symbol.for("chatfn.keyObject")]) return importKey(input[Symbol.for("chatfn.keyObject")], kind);
  let options = input;
  if (typeof input === "string" || ArrayBuffer.isView(input) || input instanceof ArrayBuffer) options = { key: input };
  if (options?.key instanceof KeyObject) return importKey(options.key, kind);
  const format = options?.format ?? (typeof options?.key === "object" && !ArrayBuffer.isView(options.key) && !(options.key instanceof ArrayBuffer) ? "jwk" : "pem");
  if (options?.passphrase !== undefined) throw codedError(Error, "Encrypted private keys are not supported in chat functions", "ERR_CHATFN_UNAVAILABLE");
  if (format === "jwk") return asymmetric(ops.op_chatfn_key_import({ kind, format: "jwk", jwk: options.key }, null));
  if (format === "der") return asymmetric(ops.op_chatfn_key_import({ kind, format: "der", type: options.type }, toBytes(options.key)));
  const text = typeof options.key === "string" ? options.key : Buffer.from(toBytes(options.key)).toString(options.encoding ?? "utf8");
  return asymmetric(ops.op_chatfn_key_import({ kind, format: "pem", text }, null));
}
const createPrivateKey = (key) => importKey(key, "private");
const createPublicKey = (key) => importKey(key, "public");

// ---------------------------------------------------------------------------
// Signatures.
// ---------------------------------------------------------------------------
function signOptions(algorithm, key) {
  return {
    hash: algorithm === null || algorithm === undefined ? undefined : algorithmOf(algorithm),
    padding: key?.padding,
    saltLength: key?.saltLength,
    dsaEncoding: key?.dsaEncoding,
  };
}
function sign(algorithm, data, key, callback) {
  const privateKey = importKey(key, "private");
  const signature = Buffer.from(ops.op_chatfn_sign(privateKey[kDer], signOptions(algorithm, key), toBytes(data)));
  if (typeof callback === "function") {
    process.nextTick(callback, null, signature);
    return undefined;
  }
  return signature;
}
function verify(algorithm, data, key, signature, callback) {
  const publicKey = importKey(key, "public");
  const ok = ops.op_chatfn_verify(publicKey[kDer], signOptions(algorithm, key), toBytes(data), toBytes(signature));
  if (typeof callback === "function") {
    process.nextTick(callback, null, ok);
    return undefined;
  }
  return ok;
}
/** What Sign and Verify share: the message, written in pieces. */
class SignatureBase {
  #chunks = [];
  constructor(algorithm) {
    this.algorithm = algorithmOf(algorithm);
  }
  update(data, encoding) {
    this.#chunks.push(toBytes(data, encoding).slice());
    return this;
  }
  write(data, encoding) {
    this.update(data, encoding);
    return true;
  }
  end(data, encoding) {
    if (data !== undefined) this.update(data, encoding);
    return this;
  }
  message() {
    return Buffer.concat(this.#chunks);
  }
}
class Sign extends SignatureBase {
  sign(key, encoding) {
    return output(sign(this.algorithm, this.message(), key), typeof key === "string" || key instanceof KeyObject ? encoding : encoding ?? key?.outputEncoding);
  }
}
class Verify extends SignatureBase {
  verify(key, signature, encoding) {
    return verify(this.algorithm, this.message(), key, typeof signature === "string" ? Buffer.from(signature, encoding) : signature);
  }
}
const createSign = (algorithm) => new Sign(algorithm);
const createVerify = (algorithm) => new Verify(algorithm);

// ---------------------------------------------------------------------------
// Key generation, Diffie-Hellman, RSA encryption.
// ---------------------------------------------------------------------------
function exportPair(pair, options = {}) {
  const publicKey = asymmetric(pair.public);
  const privateKey = asymmetric(pair.private);
  return {
    publicKey: options.publicKeyEncoding ? publicKey.export(options.publicKeyEncoding) : publicKey,
    privateKey: options.privateKeyEncoding ? privateKey.export(options.privateKeyEncoding) : privateKey,
  };
}
function generateKeyPairSync(type, options = {}) {
  const pair = ops.op_chatfn_generate_key_pair({
    type, modulusLength: options.modulusLength, publicExponent: options.publicExponent, namedCurve: options.namedCurve,
  });
  return exportPair(pair, options);
}
function generateKeyPair(type, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  let pair;
  try {
    pair = generateKeyPairSync(type, options);
  } catch (e) {
    process.nextTick(callback, e);
    return;
  }
  process.nextTick(callback, null, pair.publicKey, pair.privateKey);
}
generateKeyPair[Symbol.for("nodejs.util.promisify.custom")] = (type, options) =>
  new Promise((resolve, reject) => generateKeyPair(type, options, (e, publicKey, privateKey) => (e ? reject(e) : resolve({ publicKey, privateKey }))));
function generateKeySync(type, options = {}) {
  const bits = options.length;
  if (type !== "hmac" && type !== "aes") throw codedError(TypeError, `The argument 'type' must be one of: 'aes', 'hmac'. Received '${type}'`, "ERR_INVALID_ARG_VALUE");
  return createSecretKey(randomBytes(Math.ceil(bits / 8)));
}
function generateKey(type, options, callback) {
  let key;
  try {
    key = generateKeySync(type, options);
  } catch (e) {
    process.nextTick(callback, e);
    return;
  }
  process.nextTick(callback, null, key);
}
function diffieHellman({ privateKey, publicKey }) {
  return Buffer.from(ops.op_chatfn_key_derive(importKey(privateKey, "private")[kDer], importKey(publicKey, "public")[kDer]));
}
class ECDH {
  #curve;
  #private = null;
  #public = null;
  constructor(curve) {
    this.#curve = curve;
    ops.op_chatfn_ecdh_keys(curve, new Uint8Array(0), false);
  }
  generateKeys(encoding, format) {
    const keys = ops.op_chatfn_ecdh_keys(this.#curve, new Uint8Array(0), false);
    this.#private = Buffer.from(keys.private);
    this.#public = Buffer.from(keys.public);
    return this.getPublicKey(encoding, format);
  }
  getPublicKey(encoding, format) {
    if (!this.#public) throw codedError(Error, "Failed to get ECDH public key", "ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY");
    const bytes = format === "compressed" ? Buffer.from(ops.op_chatfn_ecdh_convert(this.#curve, this.#public, true)) : this.#public;
    return encoding ? bytes.toString(encoding) : bytes;
  }
  getPrivateKey(encoding) {
    return encoding ? this.#private.toString(encoding) : this.#private;
  }
  setPrivateKey(key, encoding) {
    const keys = ops.op_chatfn_ecdh_keys(this.#curve, toBytes(key, encoding), false);
    this.#private = Buffer.from(keys.private);
    this.#public = Buffer.from(keys.public);
    return this;
  }
  setPublicKey() {
    throw codedError(Error, "ECDH.setPublicKey is deprecated and not available", "ERR_CHATFN_UNAVAILABLE");
  }
  computeSecret(other, inputEncoding, outputEncoding) {
    const secret = Buffer.from(ops.op_chatfn_ecdh_compute(this.#curve, this.#private, toBytes(other, inputEncoding)));
    return outputEncoding ? secret.toString(outputEncoding) : secret;
  }
  static convertKey(key, curve, inputEncoding, outputEncoding, format) {
    const bytes = Buffer.from(ops.op_chatfn_ecdh_convert(curve, toBytes(key, inputEncoding), format === "compressed"));
    return outputEncoding ? bytes.toString(outputEncoding) : bytes;
  }
}
const createECDH = (curve) => new ECDH(curve);
function rsaCrypt(key, data, encrypt, kind) {
  const k = importKey(key, kind);
  const padding = key?.padding ?? constants.RSA_PKCS1_OAEP_PADDING;
  return Buffer.from(ops.op_chatfn_rsa_crypt(k[kDer], { kind: k.type, encrypt, padding, oaepHash: key?.oaepHash }, toBytes(data)));
}
const publicEncrypt = (key, data) => rsaCrypt(key, data, true, "public");
const privateDecrypt = (key, data) => rsaCrypt(key, data, false, "private");

// ---------------------------------------------------------------------------
// Ciphers, streamed as in Node (engine/cipher.rs).
// ---------------------------------------------------------------------------
class Cipheriv {
  #id;
  #encrypt;
  #tag = null;
  #autoPadding = true;
  #done = false;
  constructor(algorithm, key, iv, options, encrypt) {
    this.#encrypt = encrypt;
    const ivBytes = iv === null || iv === undefined ? new Uint8Array(0) : toBytes(iv);
    this.#id = ops.op_chatfn_cipher_new({ algorithm: String(algorithm), encrypt, authTagLength: options?.authTagLength }, keyBytes(key), ivBytes);
  }
  #check() {
    if (this.#done) throw codedError(Error, "Unsupported state", "ERR_CRYPTO_INVALID_STATE");
  }
  update(data, inputEncoding, outputEncoding) {
    this.#check();
    return output(ops.op_chatfn_cipher_update(this.#id, toBytes(data, inputEncoding)), outputEncoding);
  }
  final(outputEncoding) {
    this.#check();
    this.#done = true;
    const result = ops.op_chatfn_cipher_final(this.#id, this.#tag ?? new Uint8Array(0));
    if (result.tag) this.#tag = Buffer.from(result.tag);
    return output(result.data, outputEncoding);
  }
  setAAD(aad) {
    this.#check();
    ops.op_chatfn_cipher_options(this.#id, this.#autoPadding, toBytes(aad), true);
    return this;
  }
  setAuthTag(tag) {
    if (this.#encrypt) throw codedError(Error, "Invalid state for operation setAuthTag", "ERR_CRYPTO_INVALID_STATE");
    this.#tag = toBytes(tag).slice();
    return this;
  }
  getAuthTag() {
    if (!this.#encrypt || !this.#tag) throw codedError(Error, "Invalid state for operation getAuthTag", "ERR_CRYPTO_INVALID_STATE");
    return this.#tag;
  }
  setAutoPadding(on = true) {
    this.#check();
    this.#autoPadding = Boolean(on);
    ops.op_chatfn_cipher_options(this.#id, this.#autoPadding, new Uint8Array(0), false);
    return this;
  }
}
const createCipheriv = (algorithm, key, iv, options) => new Cipheriv(algorithm, key, iv, options, true);
const createDecipheriv = (algorithm, key, iv, options) => new Cipheriv(algorithm, key, iv, options, false);
const CIPHERS = ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-ctr", "aes-192-ctr", "aes-256-ctr", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-poly1305"];
function getCipherInfo(name) {
  const n = String(name).toLowerCase();
  if (!CIPHERS.includes(n)) return undefined;
  const keyLength = n.startsWith("chacha") ? 32 : Number(n.split("-")[1]) / 8;
  const mode = n.startsWith("chacha") ? "stream" : n.split("-")[2];
  return { name: n, keyLength, ivLength: mode === "gcm" || mode === "stream" ? 12 : 16, mode, blockSize: mode === "cbc" ? 16 : 1 };
}

// ---------------------------------------------------------------------------
// Key derivation.
// ---------------------------------------------------------------------------
function async(sync) {
  return (...args) => {
    const callback = args.pop();
    let result;
    try {
      result = sync(...args);
    } catch (e) {
      process.nextTick(callback, e);
      return;
    }
    process.nextTick(callback, null, result);
  };
}
function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  return Buffer.from(ops.op_chatfn_pbkdf2(algorithmOf(digest ?? "sha1"), toBytes(password), toBytes(salt), iterations, keylen));
}
function hkdfSync(digest, ikm, salt, info, keylen) {
  const secret = ikm instanceof KeyObject ? keyBytes(ikm) : toBytes(ikm);
  const out = ops.op_chatfn_hkdf(algorithmOf(digest), secret, toBytes(salt), toBytes(info), keylen);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}
function scryptSync(password, salt, keylen, options = {}) {
  const N = options.N ?? options.cost ?? 16384;
  const r = options.r ?? options.blockSize ?? 8;
  const p = options.p ?? options.parallelization ?? 1;
  return Buffer.from(ops.op_chatfn_scrypt(toBytes(password), toBytes(salt), N, r, p, keylen));
}
const pbkdf2 = async(pbkdf2Sync);
const hkdf = async(hkdfSync);
function scrypt(password, salt, keylen, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  return async(scryptSync)(password, salt, keylen, options, callback);
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
function timingSafeEqualBytes(x, y) {
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
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
const getHashes = () => ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "RSA-MD5", "RSA-SHA1", "RSA-SHA256", "RSA-SHA384", "RSA-SHA512"];
const getCiphers = () => [...CIPHERS];
const getCurves = () => ["prime256v1", "secp256k1", "secp384r1"];
const constants = Object.freeze({ RSA_PKCS1_PADDING: 1, RSA_NO_PADDING: 3, RSA_PKCS1_OAEP_PADDING: 4, RSA_PKCS1_PSS_PADDING: 6, RSA_PSS_SALTLEN_DIGEST: -1, RSA_PSS_SALTLEN_MAX_SIGN: -2, RSA_PSS_SALTLEN_AUTO: -2, POINT_CONVERSION_COMPRESSED: 2, POINT_CONVERSION_UNCOMPRESSED: 4, POINT_CONVERSION_HYBRID: 6 });
const getFips = () => 0;
const setFips = () => {};

const unavailableHere = [
  "createDiffieHellman", "createDiffieHellmanGroup", "getDiffieHellman", "privateEncrypt", "publicDecrypt",
  "generatePrime", "generatePrimeSync", "checkPrime", "checkPrimeSync", "createCipher", "createDecipher",
];
const pending = {};
for (const name of unavailableHere) pending[name] = unavailable(`crypto.${name}`);
module.exports = {
  createHash, createHmac, hash, Hash, Hmac: Hash, randomBytes, pseudoRandomBytes: randomBytes, randomFillSync,
  randomFill, randomInt, randomUUID, getRandomValues, timingSafeEqual, webcrypto, getHashes, getCiphers, getCurves,
  constants, getFips, setFips, KeyObject, createSecretKey, createPrivateKey, createPublicKey, sign, verify, Sign, Verify,
  createSign, createVerify, generateKeyPair, generateKeyPairSync, generateKey, generateKeySync, diffieHellman, ECDH,
  createECDH, publicEncrypt, privateDecrypt, createCipheriv, createDecipheriv, Cipheriv, Decipheriv: Cipheriv,
  getCipherInfo, pbkdf2, pbkdf2Sync, hkdf, hkdfSync, scrypt, scryptSync, ...pending,
  get subtle() {
    return webcrypto.subtle;
  },
};
0 && (module.exports = {
  createDiffieHellman, createDiffieHellmanGroup, getDiffieHellman, privateEncrypt, publicDecrypt, generatePrime,
  generatePrimeSync, checkPrime, checkPrimeSync, createCipher, createDecipher, subtle,
});
