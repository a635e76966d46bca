import { FLOW_CONTROL_LIMITS } from "./limits.ts";
import type { KeyOf } from "./types.ts";

/** An integer option within bounds, or the error that names the bound. */
export function integerOption(control: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${control}: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A duration option in ms: an integer from 1 ms to 7 days. */
export function durationOption(control: string, name: string, value: unknown): number {
  return integerOption(control, name, value, 1, FLOW_CONTROL_LIMITS.maxPeriodMs);
}

/** `maxQueue`: default 1,000, at most 100,000 (0 allowed: never queue). */
export function maxQueueOption(control: string, value: unknown): number {
  if (value === undefined) return FLOW_CONTROL_LIMITS.defaultMaxQueue;
  return integerOption(control, "maxQueue", value, 0, FLOW_CONTROL_LIMITS.maxQueue);
}

/** Checks a `key` option: a string or a function. Default: one key ("") for every call. */
export function keyOption<I>(control: string, key: KeyOf<I> | undefined): (input: I) => string {
  if (key === undefined) return () => "";
  if (typeof key === "string") {
    checkKey(control, key);
    return () => key;
  }
  if (typeof key !== "function") throw new TypeError(`${control}: key must be a string or a function of the input, got ${typeof key}`);
  return (input) => checkKey(control, key(input));
}

function checkKey(control: string, key: unknown): string {
  if (typeof key !== "string") throw new TypeError(`${control}: the key must be a string, got ${typeof key}`);
  if (key.length > FLOW_CONTROL_LIMITS.maxKeyLength) {
    throw new RangeError(`${control}: the key is ${key.length} characters, over the maximum of ${FLOW_CONTROL_LIMITS.maxKeyLength}`);
  }
  return key;
}

/** Refuses option names the control does not know (a typo would otherwise be silently ignored). */
export function checkOptionNames(control: string, options: object, known: readonly string[]): void {
  if (typeof options !== "object" || options === null) throw new TypeError(`${control}: options must be an object`);
  const unknown = Object.keys(options).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new TypeError(`${control}: unknown option ${unknown.join(", ")} (known: ${known.join(", ")})`);
}
