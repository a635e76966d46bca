import type { SealedValue } from "./cipher.ts";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A sealed value as one byte string, `iv ‖ tag ‖ ciphertext`, for stores that keep bytes (the cluster's
 * `bytea` column) rather than the file's base64 fields.
 *
 * @example
 * const bytes = sealedToBytes(key.seal("API_KEY", "s3cret"));
 * key.open("API_KEY", bytesToSealed(bytes)); // "s3cret"
 */
export function sealedToBytes(sealed: SealedValue): Buffer {
  return Buffer.concat([Buffer.from(sealed.iv, "base64"), Buffer.from(sealed.tag, "base64"), Buffer.from(sealed.data, "base64")]);
}

/** The inverse of {@link sealedToBytes}; a value too short to hold an IV and a tag opens to nothing (the key's `open` refuses it). */
export function bytesToSealed(bytes: Uint8Array): SealedValue {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < IV_BYTES + TAG_BYTES) return { iv: "", tag: "", data: "" };
  return {
    iv: buffer.subarray(0, IV_BYTES).toString("base64"),
    tag: buffer.subarray(IV_BYTES, IV_BYTES + TAG_BYTES).toString("base64"),
    data: buffer.subarray(IV_BYTES + TAG_BYTES).toString("base64"),
  };
}
