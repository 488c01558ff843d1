// node:timers/promises
"use strict";

const { abortError } = internal.lib("errors");

function setTimeout(delay, value, options = {}) {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const timer = globalThis.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(value);
    }, delay);
    if (options?.ref === false) timer.unref();
    const onAbort = () => {
      globalThis.clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
const setImmediate = (value, options) => setTimeout(0, value, options);

async function* setInterval(delay, value, options = {}) {
  const signal = options?.signal;
  let pending = 0;
  let wake = null;
  const timer = globalThis.setInterval(() => {
    pending++;
    if (wake) {
      wake();
      wake = null;
    }
  }, delay);
  if (options?.ref === false) timer.unref();
  try {
    while (true) {
      if (signal?.aborted) throw abortError(signal);
      if (pending === 0) {
        await new Promise((resolve, reject) => {
          wake = resolve;
          signal?.addEventListener("abort", () => reject(abortError(signal)), { once: true });
        });
      }
      pending--;
      yield value;
    }
  } finally {
    globalThis.clearInterval(timer);
  }
}

const scheduler = {
  wait: (delay, options) => setTimeout(delay, undefined, options),
  yield: () => setImmediate(),
};
module.exports = { setTimeout, setImmediate, setInterval, scheduler };
