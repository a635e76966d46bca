import { cutText } from "../cut-text.ts";
import { TRUNCATED_ERR_NAME_CHARS, TRUNCATED_MSG_CHARS } from "../logs/logger.ts";

/**
 * The longest message, first user frame, agent name or trace id a problem keeps, in characters (as
 * much as a cut log line keeps of its message): a longer one is cut and ends with "…".
 */
export const MAX_PROBLEM_TEXT_CHARS = TRUNCATED_MSG_CHARS;
/** The longest error name or agent class a problem keeps, in characters (as a cut log line): cut, ending with "…". */
export const MAX_PROBLEM_NAME_CHARS = TRUNCATED_ERR_NAME_CHARS;

/** A problem's text cut to `max` characters (observability/cut-text.ts). */
export const cutProblemText = cutText;
