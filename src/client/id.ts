/**
 * A random RFC 4122 version 4 identifier for RPC calls.
 *
 * Uses `crypto.randomUUID` where the platform offers it, and builds the same
 * format from `crypto.getRandomValues` otherwise (browsers only expose
 * `randomUUID` on secure origins, such as https or localhost).
 *
 * @example
 * ```ts
 * const id = randomId(); // "3b241101-e2bb-4255-8caf-4136c566a962"
 * ```
 */
export function randomId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
