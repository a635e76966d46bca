/** What a worker's `scheduled(controller, env, ctx)` handler receives. */
export interface ScheduledController {
  /** When the run was scheduled, epoch ms (a whole minute for a trigger's runs). */
  readonly scheduledTime: number;
  /** The cron expression that fired, as written in `triggers.crons`. */
  readonly cron: string;
  readonly type: "scheduled";
  /** Asks that this run not be retried if it fails. */
  noRetry(): void;
}

/** A controller and whether its run asked not to be retried. */
export interface ControllerHandle {
  controller: ScheduledController;
  readonly retryRefused: boolean;
}

/**
 * Makes the controller of one run.
 *
 * @example
 * const handle = scheduledController("0 * * * *", Date.parse("2025-01-01T10:00:00Z"));
 * handle.controller.noRetry();
 * handle.retryRefused; // true
 */
export function scheduledController(cron: string, scheduledTime: number): ControllerHandle {
  let refused = false;
  const controller: ScheduledController = Object.freeze({
    scheduledTime,
    cron,
    type: "scheduled" as const,
    noRetry: () => {
      refused = true;
    },
  });
  return {
    controller,
    get retryRefused() {
      return refused;
    },
  };
}
