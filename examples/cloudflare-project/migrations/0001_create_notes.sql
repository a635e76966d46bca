-- Migration number: 0001 	 2026-11-01T00:00:00.000Z
CREATE TABLE notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notebook TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX notes_by_notebook ON notes (notebook, id);
