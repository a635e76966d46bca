import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/** Length of a secret key in bytes (AES-256). */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One encrypted value as stored on disk, each field base64. */
export interface SealedValue {
  iv: string;
  data: string;
  tag: string;
}

/**
 * The key that encrypts a store's values with AES-256-GCM. The bytes are private, so logging or
 * inspecting a key shows its id and where it came from, never the key itself.
 *
 * @example
 * const key = new SecretKey(randomBytes(32), "HEARTH_SECRET_KEY");
 * const sealed = key.seal("API_KEY", "s3cret");
 * key.open("API_KEY", sealed); // "s3cret"
 */
export class SecretKey {
  readonly #bytes: Buffer;
  /** A fingerprint stored next to the values: a different key is recognised before any decryption. */
  readonly id: string;
  /** Where the key came from, for messages: "HEARTH_SECRET_KEY" or the key file's path. */
  readonly source: string;

  constructor(bytes: Buffer, source: string) {
    if (bytes.length !== KEY_BYTES) throw new RangeError(`a secret key is ${KEY_BYTES} bytes, got ${bytes.length}`);
    this.#bytes = Buffer.from(bytes);
    this.source = source;
    // An HMAC of a constant: it identifies the key without revealing anything usable about it.
    this.id = createHmac("sha256", this.#bytes).update("hearth secret key id v1").digest("hex").slice(0, 16);
  }

  /** Encrypts `value` with a fresh IV; the name is authenticated, so a value moved to another name fails to open. */
  seal(name: string, value: string): SealedValue {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(name));
    const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return { iv: iv.toString("base64"), data: data.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
  }

  /** Decrypts a value sealed under `name`; undefined when it does not authenticate (altered, moved, or another key). */
  open(name: string, sealed: SealedValue): string | undefined {
    try {
      const iv = Buffer.from(sealed.iv, "base64");
      const tag = Buffer.from(sealed.tag, "base64");
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
      const decipher = createDecipheriv("aes-256-gcm", this.#bytes, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(name));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8");
    } catch {
      // OpenSSL's "Unsupported state or unable to authenticate data": the caller says what it means here.
      return undefined;
    }
  }

  /** What `console.log(key)` shows. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `SecretKey { id: ${this.id}, source: ${this.source} }`;
  }

  toJSON(): { id: string; source: string } {
    return { id: this.id, source: this.source };
  }
}

function additionalData(name: string): Buffer {
  return Buffer.from(`hearth-secret:v1:${name}`, "utf8");
}
