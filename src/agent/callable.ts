/** A Standard Schema (zod, valibot, arktype…) used to validate a callable's argument list. */
export interface StandardSchema {
  readonly "~standard": {
    readonly version: 1;
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>;
  };
}
type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }> };

export interface CallableOptions {
  description?: string;
  /** The method receives a {@link StreamingResponse} as its first argument and sends chunks. */
  streaming?: boolean;
  /** Validates the whole argument array, e.g. `z.tuple([z.number()])`. */
  input?: StandardSchema;
}

/** `static callables` on an agent class: decorator-free marking, for code run without a transpiler. */
export type CallableList = readonly string[] | Readonly<Record<string, CallableOptions>>;

const marked = new WeakMap<object, CallableOptions>();

type Method = (this: never, ...args: never[]) => unknown;

/**
 * Marks a method as callable by clients over RPC. Works as a standard (TC39) decorator and as a
 * legacy `experimentalDecorators` one.
 * @example
 * class Counter extends Agent<Env, { count: number }> {
 *   @callable() increment(by: number) { ... }
 *   @callable({ streaming: true }) async count(stream: StreamingResponse, to: number) { ... }
 * }
 * // Without decorators:
 * class Counter extends Agent { static callables = ["increment"]; increment(by) { ... } }
 */
export function callable(options: CallableOptions = {}) {
  function decorate<T extends Method>(method: T, context: ClassMethodDecoratorContext): void;
  function decorate(target: object, key: string | symbol, descriptor: PropertyDescriptor): void;
  function decorate(target: unknown, _context: unknown, descriptor?: PropertyDescriptor): void {
    const method = descriptor ? descriptor.value : target;
    if (typeof method !== "function") throw new TypeError("@callable() can only decorate methods");
    marked.set(method as object, options);
  }
  return decorate;
}

/** The callable options for `instance[method]` (`fn`, when the caller read it already), or undefined when the method is not callable. */
export function callableOptions(instance: object, method: string, fn: unknown = (instance as Record<string, unknown>)[method]): CallableOptions | undefined {
  if (typeof fn !== "function") return undefined;
  const fromDecorator = marked.get(fn);
  if (fromDecorator) return fromDecorator;
  for (let ctor = instance.constructor as { callables?: CallableList } | undefined; ctor; ) {
    if (Object.hasOwn(ctor, "callables") && ctor.callables) {
      const list = ctor.callables;
      if (Array.isArray(list)) {
        if (list.includes(method)) return {};
      } else if (Object.hasOwn(list, method)) {
        return (list as Record<string, CallableOptions>)[method];
      }
    }
    ctor = Object.getPrototypeOf(ctor) as typeof ctor;
  }
  return undefined;
}

/** Runs the callable's input schema over its arguments; returns the (possibly coerced) arguments. */
export async function validateArgs(method: string, options: CallableOptions, args: unknown[]): Promise<unknown[]> {
  if (!options.input) return args;
  const result = await options.input["~standard"].validate(args);
  if (result.issues) {
    const detail = result.issues
      .map((issue) => (issue.path?.length ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message))
      .join("; ");
    throw new TypeError(`Invalid arguments for ${method}(): ${detail}`);
  }
  return Array.isArray(result.value) ? result.value : args;
}

/**
 * Every method of `instance` that clients may call, with its options: decorated methods anywhere in
 * the prototype chain, and those listed in `static callables`.
 */
export function callableMethods(instance: object): Map<string, CallableOptions> {
  const found = new Map<string, CallableOptions>();
  for (let proto = Object.getPrototypeOf(instance) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const method of Object.getOwnPropertyNames(proto)) {
      if (method === "constructor" || found.has(method)) continue;
      // Only plain methods: reading a getter (state, mcp…) would run it.
      if (typeof Object.getOwnPropertyDescriptor(proto, method)?.value !== "function") continue;
      const options = callableOptions(instance, method);
      if (options) found.set(method, options);
    }
  }
  for (let ctor = instance.constructor as { callables?: CallableList } | undefined; ctor; ctor = Object.getPrototypeOf(ctor) as typeof ctor) {
    if (!Object.hasOwn(ctor, "callables") || !ctor.callables) continue;
    const names = Array.isArray(ctor.callables) ? ctor.callables : Object.keys(ctor.callables);
    for (const method of names as readonly string[]) {
      const options = found.has(method) ? undefined : callableOptions(instance, method);
      if (options) found.set(method, options);
    }
  }
  return found;
}
