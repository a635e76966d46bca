/** What went wrong, for callers that branch on it (the command picks its exit status from it). */
export type SecretStoreErrorCode =
  | "NAME_INVALID"
  | "ENV_INVALID"
  | "VALUE_INVALID"
  | "VALUE_TOO_LARGE"
  | "KEY_INVALID"
  | "KEY_MISSING"
  | "KEY_MISMATCH"
  | "KEY_PERMISSIONS"
  | "FILE_CORRUPT"
  | "LOCKED"
  | "UNAVAILABLE";

/**
 * A secret store failure. The message is meant for the terminal as is: it names the file, the limit or
 * the fix, and never contains a secret value or key (nor the stack of the crypto library that failed).
 *
 * @example
 * try {
 *   store.get("API_KEY");
 * } catch (error) {
 *   if (error instanceof SecretStoreError && error.code === "KEY_MISMATCH") console.error(error.message);
 * }
 */
export class SecretStoreError extends Error {
  readonly code: SecretStoreErrorCode;
  constructor(code: SecretStoreErrorCode, message: string) {
    super(message);
    this.name = "SecretStoreError";
    this.code = code;
  }
}

/**
 * A name as it may be shown in a message: quoted, control characters escaped, long names cut, so a
 * hostile name cannot forge lines in a terminal or a log.
 */
export function showName(name: string): string {
  const cut = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return JSON.stringify(cut);
}
