// Errors the built-ins share. Calls that reach what chat functions may not
// (sockets, processes, the host's files) are loadable, so packages that
// merely import them work, and throw a clear error naming the call.
"use strict";

function unavailable(name) {
  const fn = function () {
    const error = new Error(`${name} is not available in chat functions`);
    error.code = "ERR_CHATFN_UNAVAILABLE";
    throw error;
  };
  Object.defineProperty(fn, "name", { value: name.slice(name.lastIndexOf(".") + 1) });
  return fn;
}

/** An object whose listed members all throw, named `module.member`. */
function unavailableAll(moduleName, names, into = {}) {
  for (const name of names) into[name] = unavailable(`${moduleName}.${name}`);
  return into;
}

/** A class whose construction throws (`new net.Socket()` and the like). */
function unavailableClass(name) {
  const C = class {
    constructor() {
      unavailable(`new ${name}`)();
    }
  };
  Object.defineProperty(C, "name", { value: name.slice(name.lastIndexOf(".") + 1) });
  return C;
}

/** Node's error for an operation an AbortSignal cancelled. */
function abortError(signal) {
  const error = new Error("The operation was aborted");
  error.name = "AbortError";
  error.code = "ABORT_ERR";
  error.cause = signal?.reason;
  return error;
}

module.exports = { unavailable, unavailableAll, unavailableClass, abortError };
