/**
 * An error thrown inside the sandbox, rethrown at the stub. `limit` names an exceeded limit.
 * @example if (error instanceof WorkerError && error.limit === "cpuMs") retryLater();
 */
export class WorkerError extends Error {
  readonly limit: string | undefined;

  constructor(name: string, message: string, limit?: string) {
    super(message);
    this.limit = limit;
    this.name = name;
  }
}
