// node:http2: loadable (grpc-js and others import it); connections are not
// available.
"use strict";
const { unavailable } = internal.lib("errors");
const constants = {
  NGHTTP2_CANCEL: 8, NGHTTP2_REFUSED_STREAM: 7, NGHTTP2_INTERNAL_ERROR: 2, NGHTTP2_NO_ERROR: 0,
  HTTP2_HEADER_STATUS: ":status", HTTP2_HEADER_METHOD: ":method", HTTP2_HEADER_AUTHORITY: ":authority",
  HTTP2_HEADER_SCHEME: ":scheme", HTTP2_HEADER_PATH: ":path", HTTP2_HEADER_CONTENT_TYPE: "content-type",
  HTTP2_HEADER_CONTENT_LENGTH: "content-length", HTTP2_HEADER_USER_AGENT: "user-agent", HTTP2_HEADER_TE: "te",
  HTTP2_HEADER_ACCEPT_ENCODING: "accept-encoding", HTTP2_METHOD_POST: "POST", HTTP2_METHOD_GET: "GET",
  HTTP_STATUS_OK: 200,
};
const connect = unavailable("http2.connect");
const createServer = unavailable("http2.createServer");
const createSecureServer = unavailable("http2.createSecureServer");
const getDefaultSettings = () => ({});
const getPackedSettings = () => Buffer.alloc(0);
const getUnpackedSettings = () => ({});
const sensitiveHeaders = Symbol("nodejs.http2.sensitiveHeaders");
class Http2ServerRequest {}
class Http2ServerResponse {}
module.exports = {
  constants, connect, createServer, createSecureServer, getDefaultSettings, getPackedSettings, getUnpackedSettings,
  sensitiveHeaders, Http2ServerRequest, Http2ServerResponse,
};
