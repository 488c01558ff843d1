// node:http: the client, over the host's egress-checked outbound path
// (see internal/http_client.js). Servers are not available.
"use strict";
const client = internal.lib("http_client");
const { unavailable, unavailableClass } = internal.lib("errors");
const { request, get, globalAgent } = client.makeClient("http:", 80);
const { METHODS, STATUS_CODES, Agent, ClientRequest, IncomingMessage, OutgoingMessage, validateHeaderName, validateHeaderValue } = client;
const createServer = unavailable("http.createServer");
const Server = unavailableClass("http.Server");
const ServerResponse = unavailableClass("http.ServerResponse");
const maxHeaderSize = 16384;
const setMaxIdleHTTPParsers = () => {};
module.exports = {
  request, get, globalAgent, METHODS, STATUS_CODES, Agent, ClientRequest, IncomingMessage, OutgoingMessage,
  validateHeaderName, validateHeaderValue, createServer, Server, ServerResponse, maxHeaderSize, setMaxIdleHTTPParsers,
};
