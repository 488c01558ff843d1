// node:cluster: a lone primary that cannot fork.
"use strict";
const EventEmitter = require("events");
const { unavailable } = internal.lib("errors");
const cluster = new EventEmitter();
Object.assign(cluster, {
  isPrimary: true, isMaster: true, isWorker: false, workers: {}, settings: {}, SCHED_NONE: 1, SCHED_RR: 2,
  schedulingPolicy: 2, fork: unavailable("cluster.fork"), setupPrimary() {}, setupMaster() {}, disconnect() {},
});
module.exports = cluster;
0 && (module.exports = { isPrimary, isMaster, isWorker, workers, settings, fork, setupPrimary, setupMaster, disconnect });
