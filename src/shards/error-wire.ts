import { types } from "node:util";
import { EmailError } from "../email/errors.ts";
import { AgentNameError } from "../host/names.ts";
import { SandboxError } from "../sandbox/sandbox.ts";
import { WorkerError } from "../sandbox/worker-error.ts";
import { SqlError, StorageClosedError } from "../storage/errors.ts";
import { NonRetryableError, WorkflowNondeterminismError, WorkflowRejectedError, WorkflowStateError, WorkflowTimeoutError } from "../workflow/errors.ts";

/**
 * What a call on another thread threw, as a value that crosses a MessagePort: an error with its class
 * (the nearest one both threads know), name, message, stack, `cause`, an AggregateError's `errors` and
 * its own data properties that structured clone copies (`code`, say); anything else thrown as it is.
 */
export type WireError =
  | { readonly thrown: unknown }
  | {
      readonly class: string;
      readonly name: string;
      readonly message: string;
      readonly stack?: string;
      /** Present when the error has a `cause` of its own (which may be undefined). */
      readonly cause?: WireError;
      readonly errors?: WireError[];
      readonly props?: Record<string, unknown>;
    };

/** The error classes rebuilt on the calling thread, so that `instanceof` holds there: the built-in ones and Hearth's exported ones. */
const CLASSES = new Map<string, new (...args: never[]) => Error>(
  [
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError,
    DOMException,
    AgentNameError,
    EmailError,
    NonRetryableError,
    SandboxError,
    SqlError,
    StorageClosedError,
    WorkerError,
    WorkflowNondeterminismError,
    WorkflowRejectedError,
    WorkflowStateError,
    WorkflowTimeoutError,
  ].map((Class) => [Class.name, Class]),
);

/** How deep causes and aggregated errors are followed, and how many errors one wire error holds at most. */
const MAX_DEPTH = 8;
const MAX_ERRORS = 256;
/** Properties carried in their own fields, not among `props`. */
const OWN_FIELDS = new Set(["name", "message", "stack", "cause", "errors"]);

export function errorToWire(error: unknown): WireError {
  return toWire(error, 0, { left: MAX_ERRORS });
}

function toWire(error: unknown, depth: number, budget: { left: number }): WireError {
  budget.left--;
  if (!types.isNativeError(error) && !(error instanceof Error)) {
    return isCloneable(error) ? { thrown: error } : { class: "Error", name: "Error", message: String(error) };
  }
  const deeper = depth < MAX_DEPTH && budget.left > 0;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (OWN_FIELDS.has(key) || descriptor === undefined || !("value" in descriptor) || !isCloneable(descriptor.value)) continue;
    props[key] = descriptor.value;
  }
  const errors = (error as Partial<AggregateError>).errors;
  return {
    class: knownClassOf(error),
    name: String(error.name),
    message: String(error.message),
    ...(typeof error.stack === "string" ? { stack: error.stack } : {}),
    ...(deeper && Object.hasOwn(error, "cause") ? { cause: toWire(error.cause, depth + 1, budget) } : {}),
    ...(deeper && error instanceof AggregateError && Array.isArray(errors)
      ? { errors: errors.slice(0, Math.max(budget.left, 0)).map((inner) => toWire(inner, depth + 1, budget)) }
      : {}),
    ...(Object.keys(props).length > 0 ? { props } : {}),
  };
}

/**
 * The error (or the thrown value) as the caller sees it: the same class when both threads know it
 * (a class of the caller's own code is not: its instances arrive as the nearest known class, with
 * their name); the stack is the far thread's.
 */
export function errorFromWire(wire: WireError): unknown {
  if ("thrown" in wire) return wire.thrown;
  const Class = CLASSES.get(wire.class) ?? Error;
  let error: Error;
  if (Class === DOMException) error = new DOMException(wire.message, wire.name);
  else {
    const options = wire.cause === undefined ? undefined : { cause: errorFromWire(wire.cause) };
    const Base = builtInBaseOf(Class);
    const args = Base === AggregateError ? [(wire.errors ?? []).map(errorFromWire), wire.message, options] : [wire.message, options];
    // The class's prototype on the built-in error's object, without running the class's constructor.
    error = Reflect.construct(Base, args, Class) as Error;
    if (error.name !== wire.name) error.name = wire.name;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  for (const [key, value] of Object.entries(wire.props ?? {})) {
    Object.defineProperty(error, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return error;
}

/** The name of the nearest class in `error`'s prototype chain that both threads know. */
function knownClassOf(error: Error): string {
  for (let prototype: unknown = Object.getPrototypeOf(error); prototype !== null; prototype = Object.getPrototypeOf(prototype)) {
    const constructor = (prototype as { constructor?: unknown }).constructor;
    if (typeof constructor === "function" && CLASSES.get(constructor.name) === constructor) return constructor.name;
  }
  return "Error";
}

const BUILT_IN: ReadonlySet<unknown> = new Set([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]);

/** The built-in error constructor `Class` extends (itself for a built-in one). */
function builtInBaseOf(Class: new (...args: never[]) => Error): new (...args: unknown[]) => Error {
  for (let current: unknown = Class; current !== null && typeof current === "function"; current = Object.getPrototypeOf(current)) {
    if (BUILT_IN.has(current)) return current as new (...args: unknown[]) => Error;
  }
  return Error as new (...args: unknown[]) => Error;
}

function isCloneable(value: unknown): boolean {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return true;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}
