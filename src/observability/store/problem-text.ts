import { TRUNCATED_ERR_NAME_CHARS, TRUNCATED_MSG_CHARS } from "../logs/logger.ts";

/**
 * The longest message, first user frame, agent name or trace id a problem keeps, in characters (as
 * much as a cut log line keeps of its message): a longer one is cut and ends with "…".
 */
export const MAX_PROBLEM_TEXT_CHARS = TRUNCATED_MSG_CHARS;
/** The longest error name or agent class a problem keeps, in characters (as a cut log line): cut, ending with "…". */
export const MAX_PROBLEM_NAME_CHARS = TRUNCATED_ERR_NAME_CHARS;

/** `text` if it has at most `max` characters, else its start and "…" in `max` characters. */
export function cutProblemText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  // Not between the two halves of a surrogate pair: a lone half has no UTF-8 form.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
