/**
 * Budgets of a team run: tokens, cost, wall time, tool calls, member calls (iterations) and delegation
 * depth. Always on: every run has limits, from the defaults if nothing else. Before a call the engine
 * reserves what the call may spend; after it, the reservation is replaced by what was spent. Parallel
 * branches therefore cannot overspend together as long as each spends within its estimate: a
 * reservation that does not fit is refused before the call is made (a call that spent more than it
 * reserved is caught after it, by checkSpent).
 */
import { priceOf, type ModelPrice } from "../observability/cost/prices.ts";
import type { MemberUsage } from "./member.ts";

/** Limits of one run (or of one member within it). */
export interface TeamLimits {
  /** Input plus output tokens. Default 200,000. */
  tokens?: number;
  /** USD, priced with the price table. Default 2. */
  costUsd?: number;
  /** Milliseconds the run may spend running (waiting for approval does not count). Default 10 minutes. */
  wallMs?: number;
  /** Tool calls made by members and supervisors. Default 200. */
  toolCalls?: number;
  /** Member and model calls in the whole run (every loop iteration, retry and delegation counts). Default 100. */
  calls?: number;
  /** Nesting of delegations (a supervisor's member that delegates again, handoffs in a row). Default 4. */
  depth?: number;
  /** Tokens reserved for a call that says nothing about its size. Default 4,000. */
  reserveTokens?: number;
}

/** What happens when a call does not fit the budget. */
export type ExhaustedPolicy = "fail" | "degrade" | "ask";

/** The defaults every run starts from; documented in docs/teams/index.md. */
export const DEFAULT_TEAM_LIMITS: Required<TeamLimits> = {
  tokens: 200_000,
  costUsd: 2,
  wallMs: 10 * 60_000,
  toolCalls: 200,
  calls: 100,
  depth: 4,
  reserveTokens: 4_000,
};

export { DEFAULT_PRICES, type ModelPrice } from "../observability/cost/prices.ts";

/**
 * Thrown when a call does not fit; `limit` names the budget that ran out, `member` the member whose
 * own limit it is (absent for the run's limits).
 */
export class BudgetExceededError extends Error {
  override readonly name = "BudgetExceededError";
  readonly limit: keyof TeamLimits;
  readonly member: string | undefined;
  constructor(limit: keyof TeamLimits, message: string, member?: string) {
    super(message);
    this.limit = limit;
    this.member = member;
  }
}

/** What one call may spend, reserved before it runs. */
export interface Reservation {
  /** The call itself (1), so calls in flight count against `calls` as their tokens do. */
  calls: number;
  tokens: number;
  costUsd: number;
  toolCalls: number;
  /** The member whose own limits it counts against. */
  member?: string;
}

/** Spent totals of a run. */
export interface Spent {
  tokens: number;
  costUsd: number;
  toolCalls: number;
  calls: number;
}

/** Resolves the limits in force: defaults, then each layer given. */
export function resolveLimits(...layers: Array<TeamLimits | undefined>): Required<TeamLimits> {
  const limits = { ...DEFAULT_TEAM_LIMITS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      // Finite: limits are journaled as JSON, where Infinity turns into null and the run could not resume.
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new TypeError(`Team limit ${key} must be a finite number ≥ 0 (got ${String(value)})`);
      if (!(key in DEFAULT_TEAM_LIMITS)) throw new TypeError(`Unknown team limit "${key}" (known: ${Object.keys(DEFAULT_TEAM_LIMITS).join(", ")})`);
      (limits as Record<string, number>)[key] = value;
    }
  }
  return limits;
}

/**
 * `limits` raised by an approved request for more: each given limit grows by its amount; with none
 * given, `exhausted` doubles.
 */
export function extendLimits(limits: Required<TeamLimits>, exhausted: keyof TeamLimits | undefined, amounts: TeamLimits | undefined): Required<TeamLimits> {
  const extended = { ...limits } as Record<string, number>;
  const numeric = Object.entries(amounts ?? {}).filter(([key, value]) => typeof value === "number" && Number.isFinite(value) && value > 0 && key in limits) as Array<[string, number]>;
  if (numeric.length === 0 && (exhausted === undefined || !(exhausted in limits))) return limits;
  const given = numeric.length > 0 ? numeric : [[exhausted!, limits[exhausted!]] as [string, number]];
  for (const [key, value] of given) extended[key] = (extended[key] ?? 0) + value;
  return extended as Required<TeamLimits>;
}

/** The cost of `usage` in USD: what the member reported, else the price table's, else 0 for unknown models. */
export function costOf(usage: MemberUsage | undefined, prices: Readonly<Record<string, ModelPrice>>): number {
  if (!usage) return 0;
  if (typeof usage.costUsd === "number") return usage.costUsd;
  const price = priceOf(usage.model, prices);
  if (!price) return 0;
  return ((usage.inputTokens ?? 0) * price.input + (usage.outputTokens ?? 0) * price.output) / 1_000_000;
}

/** A run's budget: spent totals (rebuilt from the journal at resume) plus reservations in flight. */
export class RunBudget {
  readonly #limits: Required<TeamLimits>;
  readonly #prices: Readonly<Record<string, ModelPrice>>;
  readonly spent: Spent = { tokens: 0, costUsd: 0, toolCalls: 0, calls: 0 };
  readonly #reserved: Reservation = { calls: 0, tokens: 0, costUsd: 0, toolCalls: 0 };
  /** Per member: spent (finished calls) and reserved (calls in flight), for the member's own limits. */
  readonly #members = new Map<string, { spent: Spent; reserved: Reservation }>();

  constructor(limits: Required<TeamLimits>, prices: Readonly<Record<string, ModelPrice>>) {
    this.#limits = { ...limits };
    this.#prices = prices;
  }

  get limits(): Required<TeamLimits> {
    return this.#limits;
  }

  /** Counts a call that finished (from the journal, or just now), for the run and for its member. */
  record(usage: MemberUsage | undefined, member?: string): void {
    const add = (spent: Spent) => {
      spent.calls++;
      spent.tokens += (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0);
      spent.costUsd += costOf(usage, this.#prices);
      spent.toolCalls += usage?.toolCalls ?? 0;
    };
    add(this.spent);
    if (member !== undefined) add(this.#member(member).spent);
  }

  #member(name: string): { spent: Spent; reserved: Reservation } {
    let entry = this.#members.get(name);
    if (!entry) this.#members.set(name, (entry = { spent: { tokens: 0, costUsd: 0, toolCalls: 0, calls: 0 }, reserved: { calls: 0, tokens: 0, costUsd: 0, toolCalls: 0 } }));
    return entry;
  }

  /**
   * Reserves room for one call, or throws {@link BudgetExceededError} naming the limit that would be
   * crossed. `member` limits, when given, bound what this member may spend in this call.
   */
  reserve(estimate: { tokens?: number; model?: string; toolCalls?: number }, member?: TeamLimits, memberName?: string): Reservation {
    const own = memberName !== undefined && member ? this.#member(memberName) : undefined;
    const tokens = Math.min(estimate.tokens ?? this.#limits.reserveTokens, own ? Infinity : (member?.tokens ?? Infinity));
    const price = priceOf(estimate.model, this.#prices);
    const costUsd = price ? (tokens * Math.max(price.input, price.output)) / 1_000_000 : 0;
    const toolCalls = estimate.toolCalls ?? 0;
    const check = (limit: keyof TeamLimits, used: number, adding: number, unit: string) => {
      const max = this.#limits[limit];
      if (used + adding > max) {
        throw new BudgetExceededError(limit, `Team run budget exhausted: ${limit} would reach ${format(used + adding)} ${unit} (limit ${format(max)}; spent ${format(used)} plus calls in flight)`);
      }
    };
    check("calls", this.spent.calls + this.#reserved.calls, 1, "calls");
    check("tokens", this.spent.tokens + this.#reserved.tokens, tokens, "tokens");
    check("costUsd", this.spent.costUsd + this.#reserved.costUsd, costUsd, "USD");
    check("toolCalls", this.spent.toolCalls + this.#reserved.toolCalls, toolCalls, "tool calls");
    if (own && member) {
      const mine = (limit: keyof TeamLimits, used: number, adding: number, unit: string) => {
        const max = member[limit];
        if (max !== undefined && used + adding > max) {
          throw new BudgetExceededError(limit, `Member ${memberName} budget exhausted: ${limit} would reach ${format(used + adding)} ${unit} (its limit ${format(max)} in this run)`, memberName);
        }
      };
      mine("calls", own.spent.calls + own.reserved.calls, 1, "calls");
      mine("tokens", own.spent.tokens + own.reserved.tokens, Math.min(tokens, member.tokens ?? tokens), "tokens");
      mine("costUsd", own.spent.costUsd + own.reserved.costUsd, costUsd, "USD");
      mine("toolCalls", own.spent.toolCalls + own.reserved.toolCalls, toolCalls, "tool calls");
    }
    const reservation = { calls: 1, tokens, costUsd, toolCalls, ...(own ? { member: memberName } : {}) };
    if (own) {
      own.reserved.calls += 1;
      own.reserved.tokens += tokens;
      own.reserved.costUsd += costUsd;
      own.reserved.toolCalls += toolCalls;
    }
    this.#reserved.calls += 1;
    this.#reserved.tokens += tokens;
    this.#reserved.costUsd += costUsd;
    this.#reserved.toolCalls += toolCalls;
    return reservation;
  }

  /** Gives a reservation back (the call ended; what it spent is recorded separately). */
  release(reservation: Reservation): void {
    const own = reservation.member !== undefined ? this.#members.get(reservation.member) : undefined;
    if (own) {
      own.reserved.calls -= reservation.calls;
      own.reserved.tokens -= reservation.tokens;
      own.reserved.costUsd -= reservation.costUsd;
      own.reserved.toolCalls -= reservation.toolCalls;
    }
    this.#reserved.calls -= reservation.calls;
    this.#reserved.tokens -= reservation.tokens;
    this.#reserved.costUsd -= reservation.costUsd;
    this.#reserved.toolCalls -= reservation.toolCalls;
  }

  /**
   * Throws when what was spent already crossed a limit (a call spent more than it reserved): the
   * run's, or the limits of `memberName` (`member`), which a member's call is bound by too.
   */
  checkSpent(member?: TeamLimits, memberName?: string): void {
    for (const [limit, used] of [
      ["tokens", this.spent.tokens],
      ["costUsd", this.spent.costUsd],
      ["toolCalls", this.spent.toolCalls],
    ] as const) {
      if (used > this.#limits[limit]) throw new BudgetExceededError(limit, `Team run budget exhausted: ${limit} spent ${format(used)} (limit ${format(this.#limits[limit])})`);
    }
    const own = member && memberName !== undefined ? this.#members.get(memberName) : undefined;
    if (!own || !member) return;
    for (const limit of ["tokens", "costUsd", "toolCalls"] as const) {
      const max = member[limit];
      const used = own.spent[limit];
      if (max !== undefined && used > max) throw new BudgetExceededError(limit, `Member ${memberName} budget exhausted: ${limit} spent ${format(used)} (its limit ${format(max)} in this run)`, memberName);
    }
  }
}

function format(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(4);
}
