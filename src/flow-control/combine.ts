import { NEVER } from "./runtime.ts";
import type { FlowControl, FlowControlKind, RunOptions, Work } from "./types.ts";

/** Where a combined control keeps its layers, so combining it again flattens them. */
const LAYERS: unique symbol = Symbol("hearth.flowControl.layers");

/**
 * Where each kind applies, after Inngest's documented order: rate limit before scheduling, debounce and
 * singleton at scheduling, throttle and concurrency at execution.
 */
const ORDER: Readonly<Record<FlowControlKind, number>> = { rateLimit: 0, debounce: 1, singleton: 2, throttle: 3, concurrency: 4 };

interface Layer {
  readonly kind: FlowControlKind;
  readonly control: FlowControl<never>;
}

/**
 * Several controls as one, applied in Inngest's order whatever order they are given in: rate limit
 * (drops the excess before anything waits), then debounce and singleton (which run happens), then
 * throttle and concurrency (when it starts). Controls of one kind keep the order given, outermost
 * first. So a call refused by the rate limit never waits in a queue, a debounced batch takes one
 * concurrency slot, and a call waiting for the throttle holds no concurrency slot.
 *
 * @example
 * const entry = combine<Request>(
 *   concurrency({ limit: 2, key: userOf }),
 *   rateLimit({ limiter: env.API_LIMITER, key: userOf }),
 *   throttle({ limit: 10, periodMs: 1000 }),
 * );
 * // runs as rateLimit → throttle → concurrency → work
 * const response = await entry.run(request, (request) => handle(request));
 */
export function combine<I>(...controls: FlowControl<I>[]): FlowControl<I> {
  const layers: Layer[] = [];
  for (const control of controls) {
    if (typeof control?.run !== "function" || !Array.isArray(control.kinds)) {
      throw new TypeError("combine: every argument must be a flow control (concurrency, throttle, rateLimit, debounce, singleton or combine)");
    }
    // A combined control is taken apart into its layers, so the order holds across nesting.
    const inner = (control as FlowControl<I> & { [LAYERS]?: Layer[] })[LAYERS];
    if (inner !== undefined) layers.push(...inner);
    else if (control.kinds.length === 1) layers.push({ kind: control.kinds[0]!, control: control as FlowControl<never> });
    else throw new TypeError("combine: a control with several kinds must come from combine()");
  }
  // Array.prototype.sort is stable: controls of one kind keep their given order.
  layers.sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
  const ordered = layers.map((layer) => layer.control as unknown as FlowControl<I>);

  const runFrom = <T>(index: number, input: I, work: Work<I, T>, signal: AbortSignal | undefined): Promise<T> => {
    const control = ordered[index];
    if (control === undefined) return new Promise<T>((resolve) => resolve(work(input, signal ?? NEVER)));
    // Each layer hands the next the input it chose (debounce: the last one) and its own signal.
    return control.run(input, (chosen, inner) => runFrom(index + 1, chosen, work, inner), signal === undefined ? {} : { signal });
  };

  return {
    kinds: layers.map((layer) => layer.kind),
    [LAYERS]: layers,
    run<T>(input: I, work: Work<I, T>, options: RunOptions = {}): Promise<T> {
      return runFrom(0, input, work, options.signal);
    },
  } as FlowControl<I>;
}
