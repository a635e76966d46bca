/**
 * Thrown from a step to fail it at once, without retries. The instance errors unless `run` catches it.
 * @example
 * await step.do("charge", async () => {
 *   if (card.expired) throw new NonRetryableError("card expired");
 * });
 */
export class NonRetryableError extends Error {
  constructor(message: string, name = "NonRetryableError") {
    super(message);
    this.name = name;
  }
}

/**
 * Whether a step's error fails it without retries: a `NonRetryableError`, or — as Cloudflare's engine
 * matches them — any error named "NonRetryableError" or whose message starts with it (one that crossed
 * an RPC boundary, or came from another copy of the class).
 */
export function isNonRetryable(error: unknown): boolean {
  if (error instanceof NonRetryableError) return true;
  if (typeof error !== "object" || error === null) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  return name === "NonRetryableError" || (typeof message === "string" && message.startsWith("NonRetryableError"));
}

/** `step.waitForEvent` reached its timeout. */
export class WorkflowTimeoutError extends Error {
  override name = "WorkflowTimeoutError";
}

/** The workflow's code no longer takes the same steps as the running instance recorded. */
export class WorkflowNondeterminismError extends Error {
  override name = "WorkflowNondeterminismError";
}

/** A request that the instance's status does not allow (e.g. resuming an instance that is not paused). */
export class WorkflowStateError extends Error {
  override name = "WorkflowStateError";
}

/** Rejected through `agent.rejectWorkflow(id, { reason })` while waiting for approval (Cloudflare's message). */
export class WorkflowRejectedError extends Error {
  override name = "WorkflowRejectedError";
  readonly reason: string | undefined;
  readonly workflowId: string | undefined;
  constructor(reason?: string, workflowId?: string) {
    super(reason ? `Workflow rejected: ${reason}` : "Workflow rejected");
    this.reason = reason;
    this.workflowId = workflowId;
  }
}

/** An error as stored: name and message survive restarts and replays. */
export interface StoredError {
  name: string;
  message: string;
}

export function toStoredError(error: unknown): StoredError {
  if (error instanceof Error) return { name: error.name || "Error", message: error.message };
  return { name: "Error", message: String(error) };
}

/** Rebuilds a stored error so that replays throw what the first run threw. */
export function fromStoredError(stored: StoredError): Error {
  const known: Record<string, new (message: string) => Error> = {
    NonRetryableError,
    WorkflowTimeoutError,
    WorkflowNondeterminismError,
    TypeError,
    RangeError,
  };
  if (stored.name === "WorkflowRejectedError") {
    const rejected = new WorkflowRejectedError();
    rejected.message = stored.message;
    return rejected;
  }
  const Ctor = known[stored.name];
  const error = Ctor ? new Ctor(stored.message) : new Error(stored.message);
  if (!Ctor) error.name = stored.name;
  return error;
}
