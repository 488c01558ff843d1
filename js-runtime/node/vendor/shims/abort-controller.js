// readable-stream asks the `abort-controller` package for what the runtime
// has as globals.
module.exports = { AbortController: globalThis.AbortController, AbortSignal: globalThis.AbortSignal };
