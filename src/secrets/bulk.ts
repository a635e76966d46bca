import { parse as parseDotenv } from "dotenv";
import { SecretStoreError, showName } from "./errors.ts";

/**
 * Reads the input of `hearth secret bulk`: a JSON object of names to strings (null deletes a secret),
 * or `.env` lines (`NAME=value`). Names and sizes are checked by the store. Messages never quote the
 * input, since it is made of secret values.
 *
 * @param source what to call the input in messages: the file path, or "stdin".
 * @throws {SecretStoreError} `VALUE_INVALID` for unreadable input or a value that is not a string or null.
 * @example
 * parseBulkInput('{"A": "1", "B": null}', "stdin"); // [["A", "1"], ["B", null]]
 * parseBulkInput("A=1\nB=2\n", "stdin");             // [["A", "1"], ["B", "2"]]
 */
export function parseBulkInput(text: string, source: string): Array<[string, string | null]> {
  const trimmed = text.trim();
  const entries = trimmed.startsWith("{") || trimmed.startsWith("[") ? fromJson(trimmed, source) : fromDotEnv(text);
  if (entries.length === 0) {
    throw new SecretStoreError("VALUE_INVALID", `no secrets in ${source}: give a JSON object {"NAME": "value", …} or .env lines NAME=value`);
  }
  return entries;
}

function fromJson(text: string, source: string): Array<[string, string | null]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the error, which would print secret values.
    throw new SecretStoreError("VALUE_INVALID", `${source} is not valid JSON (the parser's message is not shown: it would quote the values)`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SecretStoreError("VALUE_INVALID", `${source} must be a JSON object of names to string values ({"NAME": "value"}; null deletes NAME)`);
  }
  return Object.entries(parsed).map(([name, value]): [string, string | null] => {
    if (value !== null && typeof value !== "string") {
      const type = Array.isArray(value) ? "array" : typeof value;
      throw new SecretStoreError("VALUE_INVALID", `the value for ${showName(name)} in ${source} is not a string but a ${type} (null deletes the secret)`);
    }
    return [name, value];
  });
}

function fromDotEnv(text: string): Array<[string, string | null]> {
  return Object.entries(parseDotenv(text));
}
