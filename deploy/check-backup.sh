#!/usr/bin/env bash
# Runs the single-node backup and restore recipes of docs/deploy.md for real, on examples/counter in a
# temporary data directory (removed at the end, whatever happens):
#   1. what Hearth's exclusive locking allows while it runs (sqlite3 against a live agent, and what
#      a reader holding a lock does to the agent);
#   2. a cold backup (SIGTERM, then tar of the whole data directory and sqlite3 .backup of one agent);
#   3. restoring one agent in place, and the whole directory elsewhere, and checking the counts.
# Needs sqlite3, curl, tar.   HEARTH_SKIP_BUILD=1 deploy/check-backup.sh skips `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=${NODE:-node_modules/.bin/node}
work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-backup-XXXXXX")
hearth_pid=""
cleanup() {
  [ -n "$hearth_pid" ] && kill "$hearth_pid" 2>/dev/null || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT
port=$("$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
if [ "${HEARTH_SKIP_BUILD:-}" != "1" ]; then echo "== npm run build"; npm run build >/dev/null; fi

start() { # start <data-dir>
  "$NODE" dist/cli/main.js start examples/counter/src/index.ts --port "$port" --data "$1" >>"$work/hearth.log" 2>&1 &
  hearth_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && return 0
    kill -0 "$hearth_pid" 2>/dev/null || { cat "$work/hearth.log"; exit 1; }
    sleep 0.2
  done
  echo "hearth did not start" >&2; exit 1
}
stop() { # SIGTERM, wait for the graceful stop
  kill -TERM "$hearth_pid"; local status=0; wait "$hearth_pid" || status=$?; hearth_pid=""
  echo "   hearth stopped on SIGTERM, exit status $status"; [ "$status" = 0 ]
}
post() { curl -sS -X POST "http://127.0.0.1:$port/agents/counter/$1"; }
expect() { # expect <agent> <count>
  local got; got=$(post "$1"); echo "   POST /agents/counter/$1 -> $got"
  [ "$got" = "$2" ] || { echo "expected $2" >&2; exit 1; }
}

data="$work/data"
echo "== hearth start examples/counter --data $data"
start "$data"
expect alice 1; expect alice 2; expect alice 3; expect bob 1
alice=$(deploy/agent-file.sh "$data" counter alice)
echo "   alice's file: ${alice#"$work"/}"

echo "== while it runs: sqlite3 .backup of a live agent"
if out=$(sqlite3 "$alice" ".backup $work/online.sqlite" 2>&1); then echo "   unexpected: it worked"; else echo "   refused: $out"; fi
if out=$(sqlite3 "$data/host.sqlite" ".backup $work/host.sqlite" 2>&1); then echo "   unexpected: host.sqlite could be copied"; else echo "   host.sqlite (held while the process runs): $out"; fi
echo "== while it runs: a reader holding alice's file (idle agent: its connection is parked after 1-2 s)"
sleep 3
sqlite3 "$alice" "BEGIN; SELECT count(*) FROM _hearth_meta;" ".shell sleep 3" "COMMIT;" >/dev/null &
reader=$!
sleep 1
echo "   POST /agents/counter/alice while the reader holds it -> $(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/agents/counter/alice")"
wait "$reader"
expect alice 4 # the refused request did not count; the next one works

echo "== cold backup: stop, copy, start"
stop
tar -C "$data" -czf "$work/hearth-data.tar.gz" .
echo "   whole data directory: hearth-data.tar.gz ($(stat -c %s "$work/hearth-data.tar.gz") bytes)"
sqlite3 "$alice" ".backup '$work/alice.sqlite'"
echo "   alice alone: sqlite3 <file> \".backup alice.sqlite\" ($(stat -c %s "$work/alice.sqlite") bytes), integrity: $(sqlite3 "$work/alice.sqlite" 'PRAGMA integrity_check')"
start "$data"
expect alice 5; expect alice 6; expect bob 2

echo "== restore alice alone, in place (bob keeps his newer data)"
stop
rm -f "$alice-wal" "$alice-shm" # never let an old -wal replay into the restored file
cp "$work/alice.sqlite" "$alice"
sqlite3 "$alice" "PRAGMA application_id = 0;" >/dev/null # trusted as settled (Hearth's torn-file stamp cleared)
sync "$alice"
start "$data"
expect alice 5; expect bob 3
stop

echo "== restore the whole data directory into a new one"
mkdir "$work/restored"
tar -C "$work/restored" -xzf "$work/hearth-data.tar.gz"
start "$work/restored"
expect alice 5; expect bob 2
stop
echo "OK: backups taken with Hearth stopped restore exactly (one agent or the whole directory)"
