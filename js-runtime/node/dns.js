// node:dns: loadable; look-ups are not available (the host resolves names
// for fetch and http itself, and refuses those that point inside).
"use strict";
const { unavailable, unavailableAll } = internal.lib("errors");
const NAMES = [
  "lookup", "lookupService", "resolve", "resolve4", "resolve6", "resolveAny", "resolveCaa", "resolveCname",
  "resolveMx", "resolveNaptr", "resolveNs", "resolvePtr", "resolveSoa", "resolveSrv", "resolveTxt", "reverse",
];
const api = unavailableAll("dns", NAMES);
class Resolver {
  constructor() {
    unavailableAll("dns.Resolver", NAMES, this);
  }
  cancel() {}
  setServers() {}
  getServers() {
    return [];
  }
}
const constants = { ADDRCONFIG: 1024, V4MAPPED: 2048, ALL: 256 };
module.exports = {
  ...api,
  Resolver,
  getServers: () => [],
  setServers: unavailable("dns.setServers"),
  setDefaultResultOrder() {},
  getDefaultResultOrder: () => "verbatim",
  ...constants,
  get promises() {
    return require("dns/promises");
  },
};
0 && (module.exports = {
  lookup, lookupService, resolve, resolve4, resolve6, resolveAny, resolveCaa, resolveCname, resolveMx, resolveNaptr,
  resolveNs, resolvePtr, resolveSoa, resolveSrv, resolveTxt, reverse, Resolver, getServers, setServers,
  setDefaultResultOrder, getDefaultResultOrder, ADDRCONFIG, V4MAPPED, ALL, promises,
});
