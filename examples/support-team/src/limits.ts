/** The example's own limits; each is checked where the input arrives, and the error names it. */
export const LIMITS = {
  /** A user name is the desk's name: 1-32 of a-z, 0-9 and -, starting with a letter or digit. */
  userName: /^[a-z0-9][a-z0-9-]{0,31}$/,
  /** Characters of a question. */
  maxQuestionChars: 2_000,
  /** Runs the page lists (newest first). */
  maxListedRuns: 50,
  /** Rows `/api/executions` returns (newest first). */
  maxLoggedRows: 100,
} as const;

/** The error for a question that cannot be asked, or undefined when it can. */
export function questionProblem(question: unknown): string | undefined {
  if (typeof question !== "string" || question.trim() === "") return "Ask a question: send JSON { \"question\": \"…\" }";
  if (question.length > LIMITS.maxQuestionChars) return `A question is at most ${LIMITS.maxQuestionChars} characters (got ${question.length})`;
  return undefined;
}
