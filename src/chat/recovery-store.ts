/**
 * What chat recovery keeps in the agent's own SQLite: one row per durable turn while it runs
 * (`hearth_chat_turns`, committed with the turn's fiber, so a restart finds which request was cut
 * short and which recovery chain it belongs to), and one row per recovery incident while it lasts
 * (`hearth_chat_incidents`: attempts, progress, work — the budgets survive restarts too). An
 * incident row is also what `cf_agent_chat_recovering` reports.
 */
import type { SqlTag } from "../storage/sql.ts";
import type { ChatRecoveryKind } from "./recovery-types.ts";

/** A turn that runs in a fiber. */
export interface DurableTurn {
  requestId: string;
  continuation: boolean;
  messageIds: string[] | undefined;
  /** The request the recovery chain began with (the turn's own id outside recovery). */
  rootRequestId: string;
}

/** A recovery under way: created at the first interruption, deleted when the turn ends or is given up. */
export interface Incident {
  incidentId: string;
  rootRequestId: string;
  /** The request of the last attempt. */
  requestId: string;
  kind: ChatRecoveryKind;
  attempt: number;
  firstSeenAt: number;
  lastProgressAt: number;
  /** Segments produced since the first interruption. */
  work: number;
}

interface TurnRow {
  request_id: string;
  continuation: number;
  message_ids: string | null;
  root_request_id: string;
}

interface IncidentRow {
  incident_id: string;
  root_request_id: string;
  request_id: string;
  kind: string;
  attempt: number;
  first_seen_at: number;
  last_progress_at: number;
  work: number;
}

export class RecoveryStore {
  readonly #sql: SqlTag;
  readonly #now: () => number;

  constructor(sql: SqlTag, now: () => number) {
    this.#sql = sql;
    this.#now = now;
  }

  /** Records a durable turn (in the transaction that records its fiber). */
  begin(turn: DurableTurn): void {
    this.#sql`INSERT INTO hearth_chat_turns (request_id, continuation, message_ids, root_request_id, started_at)
      VALUES (${turn.requestId}, ${turn.continuation ? 1 : 0}, ${turn.messageIds ? JSON.stringify(turn.messageIds) : null},
        ${turn.rootRequestId}, ${this.#now()})
      ON CONFLICT (request_id) DO NOTHING`;
  }

  /** The turn ended here (whatever its outcome): nothing to recover. */
  end(requestId: string): void {
    this.#sql`DELETE FROM hearth_chat_turns WHERE request_id = ${requestId}`;
  }

  turn(requestId: string): DurableTurn | undefined {
    const row = this.#sql<TurnRow>`SELECT request_id, continuation, message_ids, root_request_id FROM hearth_chat_turns
      WHERE request_id = ${requestId}`[0];
    return row && toTurn(row);
  }

  /** True when some turn was cut short and waits for its fiber's recovery. */
  hasTurns(): boolean {
    return this.#sql<{ x: number }>`SELECT 1 AS x FROM hearth_chat_turns LIMIT 1`.length > 0;
  }

  incident(rootRequestId: string): Incident | undefined {
    const row = this.#sql<IncidentRow>`SELECT incident_id, root_request_id, request_id, kind, attempt, first_seen_at,
      last_progress_at, work FROM hearth_chat_incidents WHERE root_request_id = ${rootRequestId}`[0];
    return row && toIncident(row);
  }

  /** The incident a recovery is under way for, if any (turns run one at a time, so at most one). */
  current(): Incident | undefined {
    const row = this.#sql<IncidentRow>`SELECT incident_id, root_request_id, request_id, kind, attempt, first_seen_at,
      last_progress_at, work FROM hearth_chat_incidents ORDER BY first_seen_at DESC LIMIT 1`[0];
    return row && toIncident(row);
  }

  save(incident: Incident): void {
    this.#sql`INSERT INTO hearth_chat_incidents (incident_id, root_request_id, request_id, kind, attempt, first_seen_at,
        last_attempt_at, last_progress_at, work)
      VALUES (${incident.incidentId}, ${incident.rootRequestId}, ${incident.requestId}, ${incident.kind}, ${incident.attempt},
        ${incident.firstSeenAt}, ${this.#now()}, ${incident.lastProgressAt}, ${incident.work})
      ON CONFLICT (root_request_id) DO UPDATE SET request_id = excluded.request_id, kind = excluded.kind,
        attempt = excluded.attempt, last_attempt_at = excluded.last_attempt_at, last_progress_at = excluded.last_progress_at,
        work = excluded.work`;
  }

  /** The incident ended (its turn completed, failed, was cancelled, or recovery was given up). */
  close(rootRequestId: string): boolean {
    const had = this.incident(rootRequestId) !== undefined;
    this.#sql`DELETE FROM hearth_chat_incidents WHERE root_request_id = ${rootRequestId}`;
    return had;
  }

  /** A cleared conversation: no turn or incident of it is recovered any more. */
  clearAll(): void {
    this.#sql`DELETE FROM hearth_chat_turns`;
    this.#sql`DELETE FROM hearth_chat_incidents`;
  }
}

function toTurn(row: TurnRow): DurableTurn {
  return {
    requestId: row.request_id,
    continuation: row.continuation === 1,
    messageIds: row.message_ids ? (JSON.parse(row.message_ids) as string[]) : undefined,
    rootRequestId: row.root_request_id,
  };
}

function toIncident(row: IncidentRow): Incident {
  return {
    incidentId: row.incident_id,
    rootRequestId: row.root_request_id,
    requestId: row.request_id,
    kind: row.kind === "retry" ? "retry" : "continue",
    attempt: row.attempt,
    firstSeenAt: row.first_seen_at,
    lastProgressAt: row.last_progress_at,
    work: row.work,
  };
}
