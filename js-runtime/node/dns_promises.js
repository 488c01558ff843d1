// node:dns/promises
"use strict";
const { unavailableAll } = internal.lib("errors");
const NAMES = [
  "lookup", "lookupService", "resolve", "resolve4", "resolve6", "resolveAny", "resolveCaa", "resolveCname",
  "resolveMx", "resolveNaptr", "resolveNs", "resolvePtr", "resolveSoa", "resolveSrv", "resolveTxt", "reverse",
];
const api = {};
for (const [name, fn] of Object.entries(unavailableAll("dns.promises", NAMES))) {
  api[name] = async (...args) => fn(...args);
}
class Resolver {}
module.exports = { ...api, Resolver, getServers: () => [], setServers() {}, setDefaultResultOrder() {} };
0 && (module.exports = {
  lookup, lookupService, resolve, resolve4, resolve6, resolveAny, resolveCaa, resolveCname, resolveMx, resolveNaptr,
  resolveNs, resolvePtr, resolveSoa, resolveSrv, resolveTxt, reverse, Resolver, getServers, setServers,
  setDefaultResultOrder,
});
