import { SecretStoreError, showName } from "./errors.ts";

/** Longest secret name accepted, in characters (names are ASCII, so also bytes). */
export const MAX_SECRET_NAME_LENGTH = 255;
/** Largest secret value accepted, in UTF-8 bytes: Cloudflare's 5 KiB limit for a Worker secret. */
export const MAX_SECRET_VALUE_BYTES = 5 * 1024;
/** Longest environment name accepted (it becomes a file name). */
export const MAX_ENV_NAME_LENGTH = 64;

// Usable as `env.NAME` in a Worker and as a Secrets Store `secret_name` (which may contain "-").
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// Becomes `<env>.json`: no separators, no leading dot, nothing a shell or a file system reads specially.
const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Checks a secret name: a letter or `_` first, then letters, digits, `_` or `-`; at most
 * {@link MAX_SECRET_NAME_LENGTH} characters.
 *
 * @throws {SecretStoreError} `NAME_INVALID`, naming the rule.
 * @example
 * checkSecretName("API_KEY"); // ok
 * checkSecretName("../x");    // throws: secret name "../x" is not allowed: …
 */
export function checkSecretName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw new SecretStoreError("NAME_INVALID", "a secret name is required (letters, digits, \"_\" or \"-\", starting with a letter or \"_\")");
  }
  if (name.length > MAX_SECRET_NAME_LENGTH) {
    throw new SecretStoreError(
      "NAME_INVALID",
      `secret name ${showName(name)} is ${name.length} characters; the limit is ${MAX_SECRET_NAME_LENGTH}`,
    );
  }
  if (!SECRET_NAME.test(name)) {
    throw new SecretStoreError(
      "NAME_INVALID",
      `secret name ${showName(name)} is not allowed: use letters, digits, "_" or "-", starting with a letter or "_"`,
    );
  }
}

/**
 * Checks a secret value: a string of well-formed Unicode, at most {@link MAX_SECRET_VALUE_BYTES} bytes in
 * UTF-8. The message gives the name and the size, never the value.
 *
 * @throws {SecretStoreError} `VALUE_INVALID` or `VALUE_TOO_LARGE`.
 * @example
 * checkSecretValue("API_KEY", "x".repeat(6000)); // throws: secret "API_KEY" is 6000 bytes; the limit is 5120 …
 */
export function checkSecretValue(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new SecretStoreError("VALUE_INVALID", `secret ${showName(name)}: the value must be a string, not ${describeType(value)}`);
  }
  // A lone surrogate would be replaced by U+FFFD on the way to UTF-8: the stored value would differ.
  if (!value.isWellFormed()) {
    throw new SecretStoreError("VALUE_INVALID", `secret ${showName(name)}: the value is not well-formed Unicode (it has a lone surrogate)`);
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw new SecretStoreError(
      "VALUE_TOO_LARGE",
      `secret ${showName(name)} is ${bytes} bytes; the limit is ${MAX_SECRET_VALUE_BYTES} bytes (5 KiB, Cloudflare's limit for a secret)`,
    );
  }
}

/**
 * Checks an environment name (`--env`), which names the file the environment's secrets live in.
 *
 * @throws {SecretStoreError} `ENV_INVALID`.
 * @example
 * checkEnvName("staging"); // ok
 */
export function checkEnvName(envName: string): void {
  if (envName.length > MAX_ENV_NAME_LENGTH || !ENV_NAME.test(envName)) {
    throw new SecretStoreError(
      "ENV_INVALID",
      `environment name ${showName(envName)} is not allowed for secrets: use letters, digits, "_" or "-" (not first), at most ${MAX_ENV_NAME_LENGTH} characters`,
    );
  }
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
