// node:tls: loadable; connections are not available (https goes through
// the host's own TLS, under the egress policy).
"use strict";
const { unavailable, unavailableClass } = internal.lib("errors");
const net = require("net");

class TLSSocket extends net.Socket {}
const connect = unavailable("tls.connect");
const createServer = unavailable("tls.createServer");
const createSecureContext = (options) => ({ context: {}, options });
const Server = unavailableClass("tls.Server");
const SecureContext = class SecureContext {};
const checkServerIdentity = () => undefined;
const getCiphers = () => ["tls_aes_128_gcm_sha256", "tls_aes_256_gcm_sha384", "tls_chacha20_poly1305_sha256"];
const rootCertificates = Object.freeze([]);
const DEFAULT_ECDH_CURVE = "auto";
const DEFAULT_MIN_VERSION = "TLSv1.2";
const DEFAULT_MAX_VERSION = "TLSv1.3";
const DEFAULT_CIPHERS = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
module.exports = {
  TLSSocket, connect, createServer, createSecureContext, Server, SecureContext, checkServerIdentity, getCiphers,
  rootCertificates, DEFAULT_ECDH_CURVE, DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION, DEFAULT_CIPHERS,
};
