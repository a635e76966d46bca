/** Size caps on what members see, so a run's context does not grow without bound. */

const CUT_MARKER = "… [cut to fit]";

/** Strings (and string fields one level deep) longer than `max` characters, cut with a marker. */
export function capChars(value: unknown, max: number): unknown {
  const cut = (s: string) => (s.length > max ? s.slice(0, Math.max(0, max - CUT_MARKER.length)) + CUT_MARKER : s);
  if (typeof value === "string") return cut(value);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? cut(v) : v]));
  }
  return value;
}
