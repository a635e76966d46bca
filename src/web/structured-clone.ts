import { DefaultDeserializer, serialize } from "node:v8";

/** Node's reader of the typed arrays and DataViews in a structured clone, which this module replaces. */
const readView = (DefaultDeserializer.prototype as unknown as { _readHostObject(this: DefaultDeserializer): unknown })._readHostObject;

type ViewConstructor = new (buffer: ArrayBuffer) => ArrayBufferView;

/**
 * Node's deserializer hands back typed arrays that are views into the serialized bytes, or into its
 * shared Buffer pool when unaligned: `value.buffer` then holds the clone's header or other data. A
 * structured clone owns its bytes, so each view is copied into an ArrayBuffer of exactly its size.
 */
class OwnedViewsDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = readView.call(this) as ArrayBufferView;
    const own = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
    if (Buffer.isBuffer(view)) return Buffer.from(own);
    return new (view.constructor as ViewConstructor)(own);
  }
}

/** A value written by `node:v8`'s `serialize`, read back as a structured clone would give it. */
export function deserializeClone(bytes: Uint8Array): unknown {
  const reader = new OwnedViewsDeserializer(bytes);
  reader.readHeader();
  return reader.readValue();
}

/**
 * `value` written with `node:v8`'s `serialize`; what cannot be cloned throws what `structuredClone`
 * throws (a `DataCloneError` DOMException), not `serialize`'s plain Error.
 * @example const bytes = serializeClone({ method, args }); // deserializeClone(bytes) on the other side
 */
export function serializeClone(value: unknown): ReturnType<typeof serialize> {
  try {
    return serialize(value);
  } catch (error) {
    throw new DOMException(error instanceof Error ? error.message : String(error), "DataCloneError");
  }
}
