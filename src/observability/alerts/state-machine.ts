import type { AlertRule, AlertState } from "./types.ts";

/** One alert's state between evaluations (a rule and one label set). Inactive alerts are not kept. */
export interface InstanceState {
  readonly ruleId: string;
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: Exclude<AlertState, "inactive">;
  /** When the current state began. */
  readonly since: number;
  /** When the condition started holding (the start of `pending`). */
  readonly activeAt: number;
  /** Last evaluation where the condition held (for `keepFiringFor`). */
  readonly lastTrueAt: number;
  /** Last notification sent for this firing alert; null = not yet (e.g. silenced until now). */
  readonly lastSentAt: number | null;
  readonly value: number | null;
}

/** What an evaluation did to an alert; null when nothing worth recording happened. */
export type Transition = "pending" | "firing" | "resolved" | "inactive" | null;

/**
 * The alert state machine: inactive → pending (condition holds, `for` not elapsed) → firing →
 * resolved (then inactive, and forgotten). A pending alert whose condition stops holding goes back
 * to inactive without notifying. Pure: the engine stores the result and sends notifications.
 */
export function step(
  rule: Pick<AlertRule, "forMs" | "keepFiringForMs">,
  current: InstanceState | undefined,
  reading: { ruleId: string; key: string; labels: Readonly<Record<string, string>>; holds: boolean; value: number | null },
  now: number,
): { next: InstanceState | undefined; transition: Transition } {
  const value = reading.value ?? current?.value ?? null;
  if (!current) {
    if (!reading.holds) return { next: undefined, transition: null };
    const state = rule.forMs === 0 ? "firing" : "pending";
    const next: InstanceState = { ruleId: reading.ruleId, key: reading.key, labels: reading.labels, state, since: now, activeAt: now, lastTrueAt: now, lastSentAt: null, value };
    return { next, transition: state };
  }
  if (current.state === "pending") {
    if (!reading.holds) return { next: undefined, transition: "inactive" };
    if (now - current.activeAt >= rule.forMs) return { next: { ...current, state: "firing", since: now, lastTrueAt: now, value }, transition: "firing" };
    return { next: { ...current, lastTrueAt: now, value }, transition: null };
  }
  if (reading.holds) return { next: { ...current, lastTrueAt: now, value }, transition: null };
  if (now - current.lastTrueAt < rule.keepFiringForMs) return { next: { ...current, value }, transition: null };
  return { next: undefined, transition: "resolved" };
}

/** Whether `value op threshold` holds. */
export function compare(value: number, op: AlertRule["op"], threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case "==":
      return value === threshold;
    case "!=":
      return value !== threshold;
  }
}
