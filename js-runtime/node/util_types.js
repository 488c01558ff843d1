// node:util/types, by V8's own brand checks where deno_core exposes them.
"use strict";

const tag = (v) => Object.prototype.toString.call(v);
const isTypedArrayOf = (name) => (v) => ArrayBuffer.isView(v) && tag(v) === `[object ${name}]`;
const TypedArray = Object.getPrototypeOf(Uint8Array);
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
const boxed = (Ctor, valueOf) => (v) => {
  if (typeof v !== "object" || v === null) return false;
  try {
    valueOf.call(v);
    return true;
  } catch {
    return false;
  }
};

const isNumberObject = boxed(Number, Number.prototype.valueOf);
const isStringObject = boxed(String, String.prototype.valueOf);
const isBooleanObject = boxed(Boolean, Boolean.prototype.valueOf);
const isBigIntObject = boxed(BigInt, BigInt.prototype.valueOf);
const isSymbolObject = boxed(Symbol, Symbol.prototype.valueOf);

const isAnyArrayBuffer = (v) => v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer);
const isArrayBuffer = (v) => tag(v) === "[object ArrayBuffer]";
const isArrayBufferView = (v) => ArrayBuffer.isView(v);
const isAsyncFunction = (v) => typeof v === "function" && (tag(v) === "[object AsyncFunction]" || tag(v) === "[object AsyncGeneratorFunction]");
const isGeneratorFunction = (v) => typeof v === "function" && (tag(v) === "[object GeneratorFunction]" || tag(v) === "[object AsyncGeneratorFunction]");
const isGeneratorObject = (v) => tag(v) === "[object Generator]";
const isArgumentsObject = (v) => tag(v) === "[object Arguments]";
const isBoxedPrimitive = (v) => isNumberObject(v) || isStringObject(v) || isBooleanObject(v) || isBigIntObject(v) || isSymbolObject(v);
const isDataView = (v) => v instanceof DataView;
const isDate = (v) => v instanceof Date;
const isExternal = () => false;
const isMap = (v) => v instanceof Map;
const isMapIterator = (v) => tag(v) === "[object Map Iterator]";
const isModuleNamespaceObject = (v) => v !== null && typeof v === "object" && v[Symbol.toStringTag] === "Module" && Object.getPrototypeOf(v) === null;
const isNativeError = (v) => v instanceof Error;
const isPromise = (v) => v instanceof Promise;
const isProxy = () => false;
const isRegExp = (v) => v instanceof RegExp;
const isSet = (v) => v instanceof Set;
const isSetIterator = (v) => tag(v) === "[object Set Iterator]";
const isSharedArrayBuffer = (v) => tag(v) === "[object SharedArrayBuffer]";
const isTypedArray = (v) => ArrayBuffer.isView(v) && typedArrayTag.call(v) !== undefined;
const isWeakMap = (v) => v instanceof WeakMap;
const isWeakSet = (v) => v instanceof WeakSet;
const isKeyObject = (v) => v?.constructor?.name === "KeyObject";
const isCryptoKey = (v) => v?.constructor?.name === "CryptoKey";
const isUint8Array = isTypedArrayOf("Uint8Array");
const isUint8ClampedArray = isTypedArrayOf("Uint8ClampedArray");
const isUint16Array = isTypedArrayOf("Uint16Array");
const isUint32Array = isTypedArrayOf("Uint32Array");
const isInt8Array = isTypedArrayOf("Int8Array");
const isInt16Array = isTypedArrayOf("Int16Array");
const isInt32Array = isTypedArrayOf("Int32Array");
const isFloat32Array = isTypedArrayOf("Float32Array");
const isFloat64Array = isTypedArrayOf("Float64Array");
const isBigInt64Array = isTypedArrayOf("BigInt64Array");
const isBigUint64Array = isTypedArrayOf("BigUint64Array");

module.exports = {
  isAnyArrayBuffer, isArrayBuffer, isArrayBufferView, isAsyncFunction, isGeneratorFunction, isGeneratorObject,
  isArgumentsObject, isBoxedPrimitive, isDataView, isDate, isExternal, isMap, isMapIterator, isModuleNamespaceObject,
  isNativeError, isPromise, isProxy, isRegExp, isSet, isSetIterator, isSharedArrayBuffer, isTypedArray, isWeakMap,
  isWeakSet, isKeyObject, isCryptoKey, isNumberObject, isStringObject, isBooleanObject, isBigIntObject, isSymbolObject,
  isUint8Array, isUint8ClampedArray, isUint16Array, isUint32Array, isInt8Array, isInt16Array, isInt32Array,
  isFloat32Array, isFloat64Array, isBigInt64Array, isBigUint64Array,
};
