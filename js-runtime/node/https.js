// node:https: the client, over the host's egress-checked outbound path
// (TLS is the host's, with the system's certificate authorities).
"use strict";
const client = internal.lib("http_client");
const { unavailable, unavailableClass } = internal.lib("errors");
const { request, get, globalAgent } = client.makeClient("https:", 443);
class Agent extends client.Agent {
  constructor(options = {}) {
    super({ defaultPort: 443, protocol: "https:", ...options });
  }
}
const createServer = unavailable("https.createServer");
const Server = unavailableClass("https.Server");
module.exports = { request, get, globalAgent, Agent, createServer, Server };
