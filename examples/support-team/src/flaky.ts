/**
 * A member whose source fails the first attempts of each call, as a search index that times out
 * under load does: with `step(…, { retries })` around it, the run's events show `step-failed` and
 * `step-retry` before the attempt that succeeds.
 */
import type { TeamMember } from "hearth/teams";

/** Thrown by the simulated source on a failing attempt. */
export class SourceUnavailableError extends Error {
  override name = "SourceUnavailableError";
}

/** The attempt number of a call: the last `@N` segment of its step path (1 for the first attempt). */
export function attemptOf(path: string): number {
  const segment = path
    .split("/")
    .reverse()
    .find((part) => /^@\d+$/.test(part));
  return segment === undefined ? 1 : Number(segment.slice(1));
}

/**
 * Wraps `member` so that attempts 1…`failures()` of each step fail before reaching it.
 * @example
 * step(flaky(research, () => 1), { retries: 2 }); // attempt 1 fails, attempt 2 answers
 */
export function flaky<I, O>(member: TeamMember<I, O>, failures: () => number): TeamMember<I, O> {
  return {
    ...member,
    async call(input, context) {
      const attempt = attemptOf(context.path);
      const failing = failures();
      if (attempt <= failing) {
        throw new SourceUnavailableError(`${member.name}: the source did not answer in time (attempt ${attempt}; RESEARCH_FAILURES=${failing})`);
      }
      return member.call(input, context);
    },
  };
}
