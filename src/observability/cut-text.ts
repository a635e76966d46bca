/**
 * `text` if it has at most `max` characters, else its start and "…" in `max` characters, never
 * between the two halves of a surrogate pair (a lone half has no UTF-8 form).
 * @example cutText("abcdef", 4) // "abc…"
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
