/**
 * Why the CLI stopped. `dev` uses the kind to decide whether a failed server is worth waiting on
 * (the user can fix the entry and save) or fatal (a taken port does not fix itself).
 */
export type CliErrorKind = "usage" | "entry-not-found" | "entry-failed" | "nothing-to-serve" | "config" | "port-in-use" | "startup";

/** Exit status for a usage mistake (bad flag or missing argument). */
export const EXIT_USAGE = 2;
/** Exit status for every other failure. */
export const EXIT_FAILURE = 1;

/** An error with a message meant for the terminal as is: no stack trace is printed for it. */
export class CliError extends Error {
  readonly kind: CliErrorKind;
  readonly exitCode: number;

  constructor(kind: CliErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.kind = kind;
    this.exitCode = kind === "usage" ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** Whether a failure of this kind can go away by editing files, so `dev` keeps watching. */
export function isRecoverable(kind: CliErrorKind): boolean {
  return kind === "entry-not-found" || kind === "entry-failed" || kind === "nothing-to-serve" || kind === "config";
}

/**
 * The kind of a failure that is not a {@link CliError}: one the system reports (a file or directory
 * that cannot be made, read or written, no space left …) is the environment's, which no edit of the
 * project fixes (`startup`); anything else may come from the project's code, so it is undefined.
 */
export function kindOfUnexpected(error: unknown): CliErrorKind | undefined {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof syscall === "string" && typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? "startup" : undefined;
}

/** The text printed for an error that is not a {@link CliError}: its stack when there is one. */
export function describeUnexpected(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
