/** Model prices: what a model call costs, for team budgets, metrics and traces. */

/** A model's price in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Prices of common models (USD per million tokens); extend or override per team or server. */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "claude-sonnet-4-5": { input: 3, output: 15 },
  "claude-haiku-4-5": { input: 1, output: 5 },
  "claude-opus-4-1": { input: 15, output: 75 },
  "offline-demo": { input: 0, output: 0 },
};

/** The price of `model` in `prices`, trying the id without its provider prefix (`openai/gpt-5` → `gpt-5`). */
export function priceOf(model: string | undefined, prices: Readonly<Record<string, ModelPrice>> = DEFAULT_PRICES): ModelPrice | undefined {
  if (!model) return undefined;
  return prices[model] ?? prices[model.replace(/^.*\//, "")];
}

/**
 * The cost in USD of a call's tokens, or undefined for a model without a price.
 * @example costOfTokens("gpt-5-mini", 1_000, 200) // 0.00065
 */
export function costOfTokens(model: string | undefined, inputTokens: number, outputTokens: number, prices?: Readonly<Record<string, ModelPrice>>): number | undefined {
  const price = priceOf(model, prices);
  return price ? (inputTokens * price.input + outputTokens * price.output) / 1_000_000 : undefined;
}
