// crypto.subtle (Web Crypto) over node:crypto's keys and the host's ops:
// digest, HMAC, RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP, ECDSA, ECDH, Ed25519,
// X25519, AES-GCM/CBC/CTR, HKDF and PBKDF2. Loaded the first time
// `crypto.subtle` is read.
"use strict";

const nodeCrypto = require("crypto");
const { ops } = internal;
const kKeyObject = Symbol.for("chatfn.keyObject");

const domError = (message, name) => new DOMException(message, name);
const bytes = (data) => {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("The data must be an ArrayBuffer or an ArrayBufferView");
};
const arrayBuffer = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
const normalize = (algorithm) => (typeof algorithm === "string" ? { name: algorithm } : { ...algorithm });
const NAMES = ["HMAC", "RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP", "ECDSA", "ECDH", "Ed25519", "X25519", "AES-GCM", "AES-CBC", "AES-CTR", "AES-KW", "HKDF", "PBKDF2", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];
const canonical = (name) => NAMES.find((n) => n.toLowerCase() === String(name).toLowerCase()) ?? name;
const hashName = (hash) => canonical(typeof hash === "string" ? hash : hash?.name);
const nodeHash = (hash) => hashName(hash).replace("SHA-", "sha").toLowerCase();
const CURVES = { "P-256": "prime256v1", "P-384": "secp384r1" };

class CryptoKey {
  constructor() {
    throw new TypeError("Illegal constructor");
  }
}
function makeKey(keyObject, type, algorithm, extractable, usages) {
  const key = Object.create(CryptoKey.prototype);
  Object.defineProperties(key, {
    type: { value: type, enumerable: true },
    extractable: { value: Boolean(extractable), enumerable: true },
    algorithm: { value: Object.freeze(algorithm), enumerable: true },
    usages: { value: Object.freeze([...usages]), enumerable: true },
    [kKeyObject]: { value: keyObject },
  });
  return key;
}
const keyOf = (key) => {
  const k = key?.[kKeyObject];
  if (!k) throw new TypeError("The key must be a CryptoKey");
  return k;
};
function check(key, usage, names) {
  if (!key.usages.includes(usage)) throw domError(`The key cannot be used for ${usage}`, "InvalidAccessError");
  if (names && !names.includes(key.algorithm.name)) throw domError(`The key is for ${key.algorithm.name}`, "InvalidAccessError");
}

function algorithmOfKey(keyObject, requested) {
  const name = canonical(requested.name);
  if (keyObject.type === "secret") {
    const length = keyObject.symmetricKeySize * 8;
    if (name === "HMAC") return { name, hash: { name: hashName(requested.hash) }, length };
    if (name === "HKDF" || name === "PBKDF2") return { name };
    return { name, length };
  }
  const details = keyObject.asymmetricKeyDetails;
  if (name.startsWith("RSA")) {
    const exponent = details.publicExponent;
    const publicExponent = new Uint8Array([Number((exponent >> 16n) & 255n), Number((exponent >> 8n) & 255n), Number(exponent & 255n)]);
    return { name, modulusLength: details.modulusLength, publicExponent, hash: { name: hashName(requested.hash) } };
  }
  if (name === "ECDSA" || name === "ECDH") {
    const namedCurve = Object.keys(CURVES).find((c) => CURVES[c] === details.namedCurve) ?? details.namedCurve;
    return { name, namedCurve };
  }
  return { name };
}

const subtle = {
  async digest(algorithm, data) {
    const name = hashName(normalize(algorithm).name);
    return arrayBuffer(nodeCrypto.createHash(name.replace("SHA-", "sha").toLowerCase()).update(bytes(data)).digest());
  },

  async importKey(format, keyData, algorithm, extractable, usages) {
    const alg = normalize(algorithm);
    const name = canonical(alg.name);
    let keyObject;
    if (format === "raw") {
      if (name === "ECDSA" || name === "ECDH") {
        const jwk = rawEcToJwk(bytes(keyData), alg.namedCurve);
        keyObject = nodeCrypto.createPublicKey({ key: jwk, format: "jwk" });
      } else if (name === "Ed25519" || name === "X25519") {
        keyObject = nodeCrypto.createPublicKey({ key: { kty: "OKP", crv: name, x: Buffer.from(bytes(keyData)).toString("base64url") }, format: "jwk" });
      } else {
        keyObject = nodeCrypto.createSecretKey(bytes(keyData));
      }
    } else if (format === "jwk") {
      if (keyData.kty === "oct") keyObject = nodeCrypto.createSecretKey(Buffer.from(keyData.k, "base64url"));
      else keyObject = keyData.d ? nodeCrypto.createPrivateKey({ key: keyData, format: "jwk" }) : nodeCrypto.createPublicKey({ key: keyData, format: "jwk" });
    } else if (format === "pkcs8") {
      keyObject = nodeCrypto.createPrivateKey({ key: Buffer.from(bytes(keyData)), format: "der", type: "pkcs8" });
    } else if (format === "spki") {
      keyObject = nodeCrypto.createPublicKey({ key: Buffer.from(bytes(keyData)), format: "der", type: "spki" });
    } else {
      throw domError(`Unsupported key format ${format}`, "NotSupportedError");
    }
    return makeKey(keyObject, keyObject.type, algorithmOfKey(keyObject, alg), extractable, usages);
  },

  async exportKey(format, key) {
    if (!key.extractable) throw domError("The key is not extractable", "InvalidAccessError");
    const keyObject = keyOf(key);
    if (format === "jwk") {
      const jwk = keyObject.export({ format: "jwk" });
      return { ...jwk, key_ops: [...key.usages], ext: true };
    }
    if (format === "raw") {
      if (keyObject.type === "secret") return arrayBuffer(keyObject.export());
      const jwk = keyObject.export({ format: "jwk" });
      if (jwk.kty === "EC") return arrayBuffer(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]));
      return arrayBuffer(Buffer.from(jwk.x, "base64url"));
    }
    if (format === "pkcs8" || format === "spki") return arrayBuffer(keyObject.export({ format: "der", type: format }));
    throw domError(`Unsupported key format ${format}`, "NotSupportedError");
  },

  async sign(algorithm, key, data) {
    check(key, "sign");
    return arrayBuffer(signOrVerify(normalize(algorithm), key, bytes(data), null));
  },
  async verify(algorithm, key, signature, data) {
    check(key, "verify");
    return signOrVerify(normalize(algorithm), key, bytes(data), bytes(signature));
  },

  async encrypt(algorithm, key, data) {
    check(key, "encrypt");
    return arrayBuffer(crypt(normalize(algorithm), key, bytes(data), true));
  },
  async decrypt(algorithm, key, data) {
    check(key, "decrypt");
    return arrayBuffer(crypt(normalize(algorithm), key, bytes(data), false));
  },

  async generateKey(algorithm, extractable, usages) {
    const alg = normalize(algorithm);
    const name = canonical(alg.name);
    if (name === "HMAC" || name.startsWith("AES")) {
      const length = alg.length ?? (name === "HMAC" ? { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 }[hashName(alg.hash)] : undefined);
      const keyObject = nodeCrypto.createSecretKey(nodeCrypto.randomBytes(length / 8));
      return makeKey(keyObject, "secret", algorithmOfKey(keyObject, alg), extractable, usages);
    }
    let pair;
    if (name.startsWith("RSA")) {
      const e = alg.publicExponent ? bytes(alg.publicExponent).reduce((n, b) => n * 256 + b, 0) : 65537;
      pair = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: alg.modulusLength, publicExponent: e });
    } else if (name === "ECDSA" || name === "ECDH") {
      pair = nodeCrypto.generateKeyPairSync("ec", { namedCurve: CURVES[alg.namedCurve] ?? alg.namedCurve });
    } else if (name === "Ed25519" || name === "X25519") {
      pair = nodeCrypto.generateKeyPairSync(name.toLowerCase());
    } else {
      throw domError(`Unsupported algorithm ${name}`, "NotSupportedError");
    }
    const publicUsages = usages.filter((u) => ["verify", "encrypt", "wrapKey"].includes(u));
    const privateUsages = usages.filter((u) => ["sign", "decrypt", "unwrapKey", "deriveBits", "deriveKey"].includes(u));
    return {
      publicKey: makeKey(pair.publicKey, "public", algorithmOfKey(pair.publicKey, alg), true, publicUsages),
      privateKey: makeKey(pair.privateKey, "private", algorithmOfKey(pair.privateKey, alg), extractable, privateUsages),
    };
  },

  async deriveBits(algorithm, baseKey, length) {
    check(baseKey, "deriveBits");
    return arrayBuffer(derive(normalize(algorithm), baseKey, length));
  },
  async deriveKey(algorithm, baseKey, derivedKeyType, extractable, usages) {
    check(baseKey, "deriveKey");
    const type = normalize(derivedKeyType);
    const length = type.length ?? ({ "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 }[hashName(type.hash)] ?? 256);
    const raw = derive(normalize(algorithm), baseKey, length);
    return subtle.importKey("raw", raw, type, extractable, usages);
  },
  async wrapKey() {
    throw domError("wrapKey is not supported in chat functions", "NotSupportedError");
  },
  async unwrapKey() {
    throw domError("unwrapKey is not supported in chat functions", "NotSupportedError");
  },
  _fromKeyObject(keyObject, algorithm, extractable, usages) {
    return makeKey(keyObject, keyObject.type, algorithmOfKey(keyObject, normalize(algorithm)), extractable, usages);
  },
};

function rawEcToJwk(raw, curve) {
  if (raw[0] !== 4) {
    const uncompressed = nodeCrypto.ECDH.convertKey(Buffer.from(raw), CURVES[curve] ?? curve, undefined, undefined, "uncompressed");
    return rawEcToJwk(new Uint8Array(uncompressed), curve);
  }
  const size = (raw.length - 1) / 2;
  return { kty: "EC", crv: curve, x: Buffer.from(raw.subarray(1, 1 + size)).toString("base64url"), y: Buffer.from(raw.subarray(1 + size)).toString("base64url") };
}

function signOrVerify(alg, key, data, signature) {
  const keyObject = keyOf(key);
  const name = canonical(alg.name);
  if (name === "HMAC") {
    const mac = nodeCrypto.createHmac(nodeHash(key.algorithm.hash), keyObject).update(data).digest();
    return signature === null ? mac : signature.length === mac.length && nodeCrypto.timingSafeEqual(mac, signature);
  }
  const options = { key: keyObject };
  let hash = null;
  if (name === "RSASSA-PKCS1-v1_5") hash = nodeHash(key.algorithm.hash);
  else if (name === "RSA-PSS") {
    hash = nodeHash(key.algorithm.hash);
    options.padding = nodeCrypto.constants.RSA_PKCS1_PSS_PADDING;
    options.saltLength = alg.saltLength;
  } else if (name === "ECDSA") {
    hash = nodeHash(alg.hash);
    options.dsaEncoding = "ieee-p1363";
  } else if (name !== "Ed25519") throw domError(`Unsupported algorithm ${name}`, "NotSupportedError");
  return signature === null ? nodeCrypto.sign(hash, data, options) : nodeCrypto.verify(hash, data, options, signature);
}

function crypt(alg, key, data, encrypt) {
  const keyObject = keyOf(key);
  const name = canonical(alg.name);
  if (name === "RSA-OAEP") {
    const options = { key: keyObject, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash(key.algorithm.hash) };
    return encrypt ? nodeCrypto.publicEncrypt(options, data) : nodeCrypto.privateDecrypt(options, data);
  }
  const bits = keyObject.symmetricKeySize * 8;
  if (name === "AES-GCM") {
    const tagLength = (alg.tagLength ?? 128) / 8;
    const cipherName = `aes-${bits}-gcm`;
    if (encrypt) {
      const c = nodeCrypto.createCipheriv(cipherName, keyObject, bytes(alg.iv), { authTagLength: tagLength });
      if (alg.additionalData) c.setAAD(bytes(alg.additionalData));
      const out = Buffer.concat([c.update(data), c.final()]);
      return Buffer.concat([out, c.getAuthTag().subarray(0, tagLength)]);
    }
    const d = nodeCrypto.createDecipheriv(cipherName, keyObject, bytes(alg.iv));
    if (alg.additionalData) d.setAAD(bytes(alg.additionalData));
    d.setAuthTag(data.subarray(data.length - tagLength));
    try {
      return Buffer.concat([d.update(data.subarray(0, data.length - tagLength)), d.final()]);
    } catch {
      throw domError("The operation failed for an operation-specific reason", "OperationError");
    }
  }
  if (name === "AES-CBC" || name === "AES-CTR") {
    const mode = name === "AES-CBC" ? "cbc" : "ctr";
    const iv = bytes(mode === "cbc" ? alg.iv : alg.counter);
    const c = (encrypt ? nodeCrypto.createCipheriv : nodeCrypto.createDecipheriv)(`aes-${bits}-${mode}`, keyObject, iv);
    try {
      return Buffer.concat([c.update(data), c.final()]);
    } catch {
      throw domError("The operation failed for an operation-specific reason", "OperationError");
    }
  }
  throw domError(`Unsupported algorithm ${name}`, "NotSupportedError");
}

function derive(alg, baseKey, length) {
  const name = canonical(alg.name);
  const keyObject = keyOf(baseKey);
  let out;
  if (name === "ECDH" || name === "X25519") {
    out = nodeCrypto.diffieHellman({ privateKey: keyObject, publicKey: keyOf(alg.public) });
  } else if (name === "HKDF") {
    out = Buffer.from(nodeCrypto.hkdfSync(nodeHash(alg.hash), keyObject, bytes(alg.salt), bytes(alg.info), length / 8));
  } else if (name === "PBKDF2") {
    out = nodeCrypto.pbkdf2Sync(keyObject.export(), bytes(alg.salt), alg.iterations, length / 8, nodeHash(alg.hash));
  } else {
    throw domError(`Unsupported algorithm ${name}`, "NotSupportedError");
  }
  return length === null || length === undefined ? out : out.subarray(0, length / 8);
}

module.exports = { subtle, CryptoKey };
