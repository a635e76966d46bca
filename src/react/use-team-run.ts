/**
 * useTeamRun: the events of a team run, live, over an agent socket from useAgent — resumed from the
 * last event after a reconnect, nothing repeated.
 */
import { useEffect, useState } from "react";
import { TEAM_RUN_END_EVENTS, watchTeamRun, type TeamRunEvent, type TeamRunSocket } from "../client/team-run.ts";

/** What {@link useTeamRun} returns. */
export interface TeamRunView {
  /** The run's events so far, oldest first (at most the last `maxEvents`). */
  events: TeamRunEvent[];
  /** From the last run event: "running", "waiting", "paused", "completed", "failed", "cancelled"; undefined before any. */
  status: string | undefined;
  /** The server refused the watch. */
  error: string | undefined;
}

const STATUS_OF: Record<string, string> = {
  "run-started": "running",
  "run-resumed": "running",
  "run-waiting": "waiting",
  "run-paused": "paused",
  "run-completed": "completed",
  "run-failed": "failed",
  "run-cancelled": "cancelled",
};

/**
 * Watches a team run of the agent `socket` is connected to.
 * @example
 * const desk = useAgent({ agent: "Desk", name: userId });
 * const { events, status } = useTeamRun(desk, runId);
 */
export function useTeamRun(socket: TeamRunSocket | null | undefined, runId: string | undefined, options: { maxEvents?: number } = {}): TeamRunView {
  const maxEvents = options.maxEvents ?? 1000;
  const [view, setView] = useState<TeamRunView>({ events: [], status: undefined, error: undefined });
  useEffect(() => {
    setView({ events: [], status: undefined, error: undefined });
    if (!socket || !runId) return;
    return watchTeamRun(
      socket,
      runId,
      (event) =>
        setView((previous) => ({
          events: [...previous.events, event].slice(-maxEvents),
          status: STATUS_OF[event.type] ?? previous.status,
          error: previous.error,
        })),
      { onError: (error) => setView((previous) => ({ ...previous, error })) },
    );
  }, [socket, runId, maxEvents]);
  return view;
}

export { TEAM_RUN_END_EVENTS };
