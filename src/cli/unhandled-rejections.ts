/**
 * A served project keeps serving through a promise rejection nobody handled, as workerd does: it
 * logs one and goes on. Node's default ends the process, taking every other agent with it. Only the
 * CLI's servers install this, once they serve (a rejection while starting is a failed start, with
 * Node's message); a program that calls `serve()` keeps Node's behaviour, its own choice.
 * @module
 */
import { currentScope } from "../agent/context.ts";

let installed = false;

/**
 * Logs each unhandled rejection of this thread (through the console, which the CLI's logger
 * captures) with the agent whose event left it, when there is one, instead of exiting. Once per thread.
 */
export function logUnhandledRejections(): void {
  if (installed) return;
  installed = true;
  process.on("unhandledRejection", (reason: unknown) => {
    // Node runs this in the async context of the promise: an agent's event is still known here.
    const scope = currentScope();
    const where = scope === undefined ? "" : ` in ${scope.className}/${scope.name}`;
    console.error(`[hearth] unhandled promise rejection${where} (logged; the server keeps serving):`, reason);
  });
}
