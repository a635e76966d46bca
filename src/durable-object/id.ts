import { createHash, randomBytes } from "node:crypto";
import { LIMITS } from "../limits.ts";

/** Either case, as workerd decodes it; ids are kept and given back in lower case. */
const ID_PATTERN = /^[0-9a-f]{64}$/i;
const BODY_HEX = 56;

/**
 * A Durable Object's identity: 64 hex digits, the last 8 a checksum binding the id to its class, so an
 * id of another class is refused by `idFromString`. An id made from a name carries the name.
 * @example
 * const id = env.ROOMS.idFromName("lobby");
 * const again = env.ROOMS.idFromString(id.toString()); // same object, no name
 * id.equals(again); // true
 */
export class DurableObjectId {
  readonly #hex: string;
  /** The name this id was made from (`idFromName`, `getByName`), else undefined. */
  readonly name: string | undefined;

  /** @internal Made by a namespace. */
  constructor(hex: string, name?: string) {
    this.#hex = hex;
    this.name = name;
  }

  toString(): string {
    return this.#hex;
  }

  equals(other: DurableObjectId): boolean {
    return other instanceof DurableObjectId && other.#hex === this.#hex;
  }

  toJSON(): string {
    return this.#hex;
  }
}

/** The id of `name` in the class stored under `storageSlug`: the same on every start. */
export function idHexFromName(storageSlug: string, name: string): string {
  const body = createHash("sha256").update("hearth-durable-object\0").update(storageSlug).update("\0").update(name).digest("hex").slice(0, BODY_HEX);
  return body + checksum(storageSlug, body);
}

export function uniqueIdHex(storageSlug: string): string {
  const body = randomBytes(BODY_HEX / 2).toString("hex");
  return body + checksum(storageSlug, body);
}

/** Checks an id string for a class (64 hex digits in either case); its lower-case form, or Cloudflare's TypeError for a malformed or foreign one. */
export function parseIdHex(storageSlug: string, value: unknown): string {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new TypeError("Invalid Durable Object ID: must be a string of 64 hex digits.");
  }
  const hex = value.toLowerCase();
  if (checksum(storageSlug, hex.slice(0, BODY_HEX)) !== hex.slice(BODY_HEX)) {
    throw new TypeError("Invalid Durable Object ID. The ID does not match this Durable Object class.");
  }
  return hex;
}

function checksum(storageSlug: string, body: string): string {
  return createHash("sha256").update(storageSlug).update("\0").update(body).digest("hex").slice(0, 64 - BODY_HEX);
}

/**
 * Checks a name for `idFromName` / `getByName`. Any string is a name (it is hashed, never a path),
 * the empty one included; refused: non-strings, unpaired surrogates (they would hash like U+FFFD,
 * so two names could share an object) and names over 4 KiB of UTF-8.
 */
export function checkObjectName(name: unknown): string {
  if (typeof name !== "string") throw new TypeError(`idFromName() takes a string, got ${typeof name}`);
  if (!name.isWellFormed()) throw new TypeError("idFromName(): the name must be well-formed Unicode (it has an unpaired surrogate)");
  const bytes = Buffer.byteLength(name);
  if (bytes > LIMITS.maxNameBytes) {
    throw new RangeError(`idFromName(): the name is ${bytes} bytes of UTF-8; the limit is ${LIMITS.maxNameBytes} (maxNameBytes)`);
  }
  return name;
}
