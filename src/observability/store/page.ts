/** A page of a list, as the inspector's API answers it: `next` is the cursor of the following page. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Items per page when a query names no limit (the inspector API's default). */
export const DEFAULT_PAGE_LIMIT = 50;
/** The most items one page may ask for. */
export const MAX_PAGE_LIMIT = 500;

/**
 * The page size of a query: the default when absent, else a whole number from 1 to {@link MAX_PAGE_LIMIT}.
 * @throws RangeError naming the limit.
 */
export function pageLimit(limit: number | string | undefined): number {
  if (limit === undefined || limit === "") return DEFAULT_PAGE_LIMIT;
  const value = typeof limit === "number" ? limit : Number(limit);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_LIMIT) {
    throw new RangeError(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}, got ${JSON.stringify(limit)}`);
  }
  return value;
}

/** The opaque cursor of a sequence number. */
export function encodeIdCursor(id: number): string {
  return `i${id.toString(36)}`;
}

/**
 * The sequence number in a cursor made by {@link encodeIdCursor}.
 * @throws RangeError when the cursor was not made here.
 */
export function decodeIdCursor(cursor: string): number {
  const id = /^i[0-9a-z]{1,11}$/.test(cursor) ? parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(id)) throw new RangeError(`Invalid cursor ${JSON.stringify(cursor.slice(0, 40))}: pass the "next" of a previous page`);
  return id;
}
