// node:v8: heap figures of a neutral runtime; serialization by V8 itself.
"use strict";
const { core } = internal;
const { unavailable } = internal.lib("errors");
const getHeapStatistics = () => ({
  total_heap_size: 0, total_heap_size_executable: 0, total_physical_size: 0, total_available_size: 0,
  used_heap_size: 0, heap_size_limit: 128 * 1024 * 1024, malloced_memory: 0, peak_malloced_memory: 0,
  does_zap_garbage: 0, number_of_native_contexts: 1, number_of_detached_contexts: 0, total_global_handles_size: 0,
  used_global_handles_size: 0, external_memory: 0,
});
const getHeapSpaceStatistics = () => [];
const getHeapCodeStatistics = () => ({ code_and_metadata_size: 0, bytecode_and_metadata_size: 0, external_script_source_size: 0 });
const serialize = (value) => Buffer.from(core.serialize(value));
const deserialize = (buffer) => core.deserialize(buffer);
const cachedDataVersionTag = () => 0;
const setFlagsFromString = unavailable("v8.setFlagsFromString");
const writeHeapSnapshot = unavailable("v8.writeHeapSnapshot");
const getHeapSnapshot = unavailable("v8.getHeapSnapshot");
const isStringOneByteRepresentation = (s) => !/[^\u0000-\u00ff]/.test(s);
module.exports = {
  getHeapStatistics, getHeapSpaceStatistics, getHeapCodeStatistics, serialize, deserialize, cachedDataVersionTag,
  setFlagsFromString, writeHeapSnapshot, getHeapSnapshot, isStringOneByteRepresentation,
};
