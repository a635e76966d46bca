/** A fiber whose record was never committed: its function did not run. */
export class FiberNotStartedError extends Error {
  constructor(name: string, why: string) {
    super(`Fiber ${JSON.stringify(name)} did not start: ${why}`);
    this.name = "FiberNotStartedError";
  }
}
