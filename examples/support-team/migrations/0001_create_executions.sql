-- Migration number: 0001 	 2026-12-03T00:00:00.000Z
-- One row per team run, written when the run ends (completed, failed or cancelled).
CREATE TABLE executions (
  run_id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  question TEXT NOT NULL,
  route TEXT,
  outcome TEXT NOT NULL,
  error TEXT,
  critical INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX executions_by_user ON executions (user, started_at);
