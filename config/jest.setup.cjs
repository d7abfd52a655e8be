// Jest runs each test file in its own VM context, so a Float32Array made by a test is not an instance of the
// Float32Array that onnxruntime-common checks against, and ORT rejects it ("Unsupported tensor data type").
// Make `instanceof` on typed arrays realm-independent by comparing the internal [[TypedArrayName]] instead.
const typedArrays = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag,
).get;
for (const ctor of typedArrays) {
  Object.defineProperty(ctor, Symbol.hasInstance, {
    configurable: true,
    value(candidate) {
      return ArrayBuffer.isView(candidate) && typedArrayTag.call(candidate) === ctor.name;
    },
  });
}
