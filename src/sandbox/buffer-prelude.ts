/**
 * The wrapping of ArrayBuffer, SharedArrayBuffer and the typed arrays inside a sandbox (the memory
 * block of prelude.ts explains why), compiled when the code first names one of their constructors:
 * most sandboxes never do, and compiling it on every start cost a tenth of a sandbox's start. It
 * runs after the sandbox's code has, so it reads no global: only what the prelude took at start
 * (`kit`), with syntax that looks nothing up (no spread, for-of or array destructuring; property
 * descriptors without a prototype).
 */
export const BUFFER_PRELUDE = String.raw`(function (kit) {
"use strict";
const construct = kit.construct, defineProperty = kit.defineProperty, describe = kit.describe, G = kit.G, lazy = kit.lazy;
const measure = kit.measure, ahead = kit.ahead, sizeOf = kit.sizeOf, length = kit.length, wrap = kit.wrap;
const AB = lazy.ArrayBuffer[0], SAB = lazy.SharedArrayBuffer ? lazy.SharedArrayBuffer[0] : undefined, TA = kit.protoOf(lazy.Uint8Array[0]).prototype;
const viewBytes = describe(TA, "byteLength").get, viewBuffer = describe(TA, "buffer").get, bufferBytes = describe(AB.prototype, "byteLength").get;
const sharedBytes = SAB ? describe(SAB.prototype, "byteLength").get : bufferBytes;
for (const name in lazy) {
  const C = lazy[name][0], buffer = C === AB || C === SAB, size = C === AB ? bufferBytes : C === SAB ? sharedBytes : viewBytes, unit = buffer ? 1 : C.BYTES_PER_ELEMENT;
  // No prototype: a trap the handler lacks (get, apply) must not be looked up on Object.prototype.
  const wrapped = new kit.Proxy(C, { __proto__: null, construct(target, args, newTarget) {
    const first = args[0];
    // A typed array of an object copies it (measured after) or views a buffer (nothing new).
    const from = !buffer && first !== null && (typeof first === "object" || typeof first === "function");
    if (!from) ahead(length(args) * unit);
    const value = construct(target, args, newTarget);
    if (!from || sizeOf(viewBuffer, value) !== first) measure(sizeOf(size, value));
    return value;
  } });
  // A name the code has set or deleted keeps what it has.
  const now = describe(G, name);
  if (now !== undefined && now.get === lazy[name][1]) defineProperty(G, name, { __proto__: null, value: wrapped, writable: true, configurable: true, enumerable: false });
  // What is made through a prototype's constructor (species, "new x.constructor(n)") is measured too.
  defineProperty(C.prototype, "constructor", { __proto__: null, value: wrapped, writable: true, configurable: true, enumerable: false });
}
wrap(AB.prototype, ["slice"], bufferBytes);
wrap(AB.prototype, ["resize", "transfer", "transferToFixedLength"], bufferBytes, 1);
if (SAB) {
  wrap(SAB.prototype, ["slice"], sharedBytes);
  wrap(SAB.prototype, ["grow"], sharedBytes, 1);
}
// slice copies through "constructor" (the wrapper) unless the code changed it; the others never do.
wrap(TA, ["slice", "toSorted", "toReversed", "with"], viewBytes);
})`;
