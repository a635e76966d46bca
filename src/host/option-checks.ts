import type { Durability } from "../limits.ts";

/** A host option that must be a positive number. */
export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** The durability option: `relaxed` (default) or `strict`. */
export function checkedDurability(value: Durability | undefined): Durability {
  const durability = value ?? "relaxed";
  if (durability !== "strict" && durability !== "relaxed") {
    throw new TypeError(`durability must be "strict" or "relaxed", got ${JSON.stringify(value)}`);
  }
  return durability;
}
