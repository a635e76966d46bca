/** Reading an HTTP `Retry-After` header (RFC 9110 §10.2.3), for every client that honours one. */

/** HTTP-dates other than IMF-fixdate, which recipients still accept (RFC 9110 §5.6.7). */
const RFC_850 = /^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * A `Retry-After` header as milliseconds from `now`: delay-seconds or an HTTP-date (a date past is 0).
 * Undefined when absent or neither; callers cap it.
 * @example retryAfterMs("120", Date.now()) // 120000
 * @example retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:00Z")) // 60000
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  let at = Number.NaN;
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) at = Date.parse(text);
  else if (ASCTIME.test(text)) at = Date.parse(`${text} GMT`); // asctime has no zone; HTTP-dates are GMT
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
