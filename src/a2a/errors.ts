/**
 * JSON-RPC and A2A error codes (A2A v1.0 §"Error handling"; v0.3 uses the same numbers for the ones it has).
 */
export const A2A_ERROR_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Hearth: the `authenticate` hook refused the request (the implementation-defined server range). */
  unauthorized: -32000,
  taskNotFound: -32001,
  taskNotCancelable: -32002,
  pushNotificationNotSupported: -32003,
  unsupportedOperation: -32004,
  contentTypeNotSupported: -32005,
  invalidAgentResponse: -32006,
  extendedAgentCardNotConfigured: -32007,
  extensionSupportRequired: -32008,
  versionNotSupported: -32009,
} as const;

/**
 * An error with a JSON-RPC code: thrown by the server's handlers (and sent as the `error` member), and
 * by {@link A2AClient} when the remote agent answers with one.
 * @example
 * throw new A2AError(A2A_ERROR_CODES.taskNotFound, `Task ${id} not found`);
 */
export class A2AError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "A2AError";
    this.code = code;
    this.data = data;
  }
}

/** -32602 with a message naming the field. */
export function invalidParams(message: string): A2AError {
  return new A2AError(A2A_ERROR_CODES.invalidParams, message);
}

export function taskNotFound(id: string): A2AError {
  return new A2AError(A2A_ERROR_CODES.taskNotFound, `Task ${JSON.stringify(id)} not found`, { taskId: id });
}
