// node:perf_hooks: the global performance, and what packages import beside it.
"use strict";
const { PerformanceEntry } = internal.host.web;
class PerformanceObserver {
  constructor(callback) {
    this.callback = callback;
  }
  observe() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
  static supportedEntryTypes = ["mark", "measure"];
}
class PerformanceMark extends PerformanceEntry {}
class PerformanceMeasure extends PerformanceEntry {}
const monitorEventLoopDelay = () => ({
  enable() {}, disable() {}, reset() {}, percentile: () => 0, min: 0, max: 0, mean: 0, stddev: 0, count: 0, percentiles: new Map(),
});
const createHistogram = monitorEventLoopDelay;
const constants = Object.freeze({ NODE_PERFORMANCE_GC_MAJOR: 4, NODE_PERFORMANCE_GC_MINOR: 1, NODE_PERFORMANCE_GC_INCREMENTAL: 8, NODE_PERFORMANCE_GC_WEAKCB: 16 });
const performance = globalThis.performance;
module.exports = { performance, PerformanceObserver, PerformanceEntry, PerformanceMark, PerformanceMeasure, monitorEventLoopDelay, createHistogram, constants };
