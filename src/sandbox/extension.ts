/**
 * A sandbox extension: more JavaScript inside the sandbox and a few more host operations behind it,
 * for one kind of guest (a Durable Object loaded from code). Everything between the two sides is a
 * named operation with a string payload, as for the prelude's own bridge calls, so an extension
 * works the same when the engine moves to a worker thread (the strings cross the thread boundary).
 */

/** Calls back into the sandbox while it waits for a sync operation's answer (see `nested` below). */
export type NestedCall = (op: string, payload: string) => string;

export interface SandboxExtension {
  /**
   * Prefix of the extension's operations, both ways: the sandbox calls `${name}.<op>` on the host,
   * and `Sandbox.extensionCall(op, …)` dispatches `<op>` to the extension inside the sandbox.
   */
  readonly name: string;
  /**
   * Source of a function expression evaluated in the sandbox after the prelude. It receives the
   * prelude's kit (`sync`, `async_`, `cfg`, `define`, `show`, `tooBig`, `loadWeb`, `env`, `main()`)
   * and returns `{ dispatch(op, payload): Promise<unknown>, nested(op, payload): string }`.
   */
  readonly source: string;
  /**
   * Host side of `__hearth_sync("<name>.<op>", payload)`: answered at once while the sandbox's code
   * waits. `nested` calls the extension's `nested(op, payload)` inside the sandbox synchronously.
   */
  sync?(op: string, payload: string, nested: NestedCall): string;
  /** Host side of `__hearth_async("<name>.<op>", payload)`: a promise inside the sandbox. */
  async?(op: string, payload: string): Promise<string>;
}
