import { createHash } from "node:crypto";
import type pg from "pg";

/** The SQL of the cluster's queue store, as named statements (pg prepares each once per connection). */
export interface QueueStatements {
  /** $1..$7 parallel arrays of the messages, $8 the channel, $9 the writer. Rows: queue, backlog count, bytes, oldest sent_at. */
  insert: pg.QueryConfig;
  /**
   * $1 queue, $2 now, $3 limit. One row: ready count (up to the limit), the earliest available_at up to
   * now, and the earliest after now (a delayed or retried message, or a lease that may lapse).
   */
  ready: pg.QueryConfig;
  /** $1 queue, $2 now, $3 limit, $4 lease deadline, $5 lease. */
  lease: pg.QueryConfig;
  /**
   * $1 lease, $2 deleted seqs, $3/$4 retried seqs and times, $5/$6 moved seqs and queues, $7 now,
   * $8 channel, $9 the batch's queue, $10 the writer.
   */
  settle: pg.QueryConfig;
  /** $1 leases, $2 new deadline. */
  renew: pg.QueryConfig;
  /** $1 queue. One row: count, bytes, oldest sent_at. */
  metrics: pg.QueryConfig;
  /** Rows: queue, count, bytes. */
  backlogs: pg.QueryConfig;
  /** $1 cutoff sent_at, $2 now, $3 batch size, $4 the writer. One row: how many were deleted. */
  purge: pg.QueryConfig;
  /** Folds every writer's counter rows into one row per queue. */
  compact: pg.QueryConfig;
}

/**
 * The statements for one schema's queue tables. Names carry a digest of the table's name: Postgres
 * cuts names at 63 bytes, and a long schema name must not collide.
 */
export function queueStatements(table: string, counts: string): QueueStatements {
  const tag = createHash("sha256").update(table).digest("hex").slice(0, 16);
  const named = (name: string, text: string): pg.QueryConfig => ({ name: `hearth_queue_${name}_${tag}`, text });
  const ready = `queue = $1 AND available_at <= $2 ORDER BY available_at, seq LIMIT $3`;
  // Adds (queue, n, b) rows of `source` to this writer's counters. Rows are locked in queue order, the
  // order every statement uses, so two statements never wait for each other in a cycle.
  const count = (source: string, writer: string) =>
    `INSERT INTO ${counts} AS c (queue, writer, messages, bytes) SELECT queue, ${writer}, n, b FROM ${source} WHERE n <> 0 ORDER BY queue
     ON CONFLICT (queue, writer) DO UPDATE SET messages = c.messages + excluded.messages, bytes = c.bytes + excluded.bytes`;
  return {
    // The backlog before the insert (the statement's snapshot) plus what it inserts is the backlog at
    // its commit. WITH ORDINALITY keeps the send order in seq. pg_notify is sent at the commit.
    insert: named(
      "insert",
      `WITH added AS (
         INSERT INTO ${table} (queue, id, content_type, body, size, sent_at, available_at, traceparent)
         SELECT q, i, c, b, length(b), s, v, p
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bigint[], $6::bigint[], $7::text[])
           WITH ORDINALITY AS m(q, i, c, b, s, v, p, n)
         ORDER BY n
         RETURNING queue, size, sent_at),
       touched AS (SELECT queue, count(*) AS n, sum(size) AS b, min(sent_at) AS oldest FROM added GROUP BY queue),
       counted AS (${count("touched", "$9::text")})
       SELECT touched.queue, touched.n + coalesce(before.n, 0), touched.b + coalesce(before.b, 0),
              least(touched.oldest, (SELECT min(sent_at) FROM ${table} WHERE queue = touched.queue)), pg_notify($8, touched.queue)::text
       FROM touched LEFT JOIN LATERAL (SELECT sum(messages) AS n, sum(bytes) AS b FROM ${counts} WHERE queue = touched.queue) AS before ON true`,
    ),
    ready: named(
      "ready",
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE ${ready}) AS r),
              (SELECT min(available_at) FROM ${table} WHERE queue = $1 AND available_at <= $2),
              (SELECT min(available_at) FROM ${table} WHERE queue = $1 AND available_at > $2)`,
    ),
    // SKIP LOCKED: nodes leasing the same queue at once take different messages instead of waiting.
    lease: named(
      "lease",
      `WITH picked AS (SELECT seq, available_at FROM ${table} WHERE ${ready} FOR UPDATE SKIP LOCKED)
       UPDATE ${table} AS t SET available_at = $4, lease = $5, attempts = t.attempts + 1 FROM picked
       WHERE t.seq = picked.seq
       RETURNING t.seq, t.id, t.content_type, t.body, t.size, t.sent_at, picked.available_at, t.attempts, t.traceparent`,
    ),
    // Every part checks the lease: a batch whose lease lapsed and went to another node changes nothing.
    settle: named(
      "settle",
      `WITH gone AS (DELETE FROM ${table} WHERE seq = ANY($2::bigint[]) AND lease = $1 RETURNING size),
       retried AS (
         UPDATE ${table} AS t SET available_at = r.at, lease = NULL FROM unnest($3::bigint[], $4::bigint[]) AS r(seq, at)
         WHERE t.seq = r.seq AND t.lease = $1 RETURNING t.queue),
       moved AS (
         UPDATE ${table} AS t SET queue = d.target, attempts = 0, available_at = $7, lease = NULL
         FROM unnest($5::bigint[], $6::text[]) AS d(seq, target)
         WHERE t.seq = d.seq AND t.lease = $1 RETURNING t.queue, t.size),
       deltas AS (
         SELECT $9::text AS queue, -count(*) AS n, -coalesce(sum(size), 0) AS b FROM (SELECT size FROM gone UNION ALL SELECT size FROM moved) AS out
         UNION ALL SELECT queue, count(*), sum(size) FROM moved GROUP BY queue),
       counted AS (${count("deltas", "$10::text")}),
       woken AS (SELECT queue FROM retried UNION SELECT queue FROM moved)
       SELECT (SELECT count(pg_notify($8, queue)) FROM woken)`,
    ),
    renew: named("renew", `UPDATE ${table} SET available_at = $2 WHERE lease = ANY($1::text[])`),
    metrics: named(
      "metrics",
      `SELECT coalesce(sum(messages), 0), coalesce(sum(bytes), 0), (SELECT min(sent_at) FROM ${table} WHERE queue = $1) FROM ${counts} WHERE queue = $1`,
    ),
    backlogs: named("backlogs", `SELECT queue, sum(messages), sum(bytes) FROM ${counts} GROUP BY queue`),
    // Not a message being delivered (lease held); SKIP LOCKED lets nodes purging at once share the work.
    purge: named(
      "purge",
      `WITH gone AS (
         DELETE FROM ${table} WHERE seq IN (
           SELECT seq FROM ${table} WHERE sent_at < $1 AND (lease IS NULL OR available_at <= $2) LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING queue, size),
       deltas AS (SELECT queue, -count(*) AS n, -sum(size) AS b FROM gone GROUP BY queue),
       counted AS (${count("deltas", "$4::text")})
       SELECT count(*) FROM gone`,
    ),
    // Locks the rows in (queue, writer) order, as writers lock theirs (queue order, one row per queue).
    compact: named(
      "compact",
      `WITH folded AS (
         DELETE FROM ${counts} WHERE (queue, writer) IN (SELECT queue, writer FROM ${counts} WHERE writer <> '' ORDER BY queue, writer FOR UPDATE)
         RETURNING queue, messages, bytes),
       sums AS (SELECT queue, sum(messages) AS n, sum(bytes) AS b FROM folded GROUP BY queue)
       ${count("sums", "''").replace("WHERE n <> 0 ", "")}`,
    ),
  };
}
