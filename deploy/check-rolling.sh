#!/usr/bin/env bash
# A rolling restart of a two-node cluster, for real: a throwaway Postgres (Debian's postgresql,
# run as the postgres user when this runs as root), two `hearth start --cluster` nodes serving
# deploy/cluster-app.ts, agents written through both, then each node in turn gets SIGTERM while the
# other serves every agent at once (no lease TTL to wait for), and comes back. Every count must go on
# from where it was: nothing acknowledged is lost. Then one agent is restored from a pg_dump taken
# while the nodes ran. Removes everything it made, whatever happens.
#   deploy/check-rolling.sh            # builds first;  HEARTH_SKIP_BUILD=1 to skip
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=${NODE:-node_modules/.bin/node}
PGBIN=${PGBIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")}
work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-rolling-XXXXXX")
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$work"; fi
declare -A pid
cleanup() {
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  [ -d "$work/pg" ] && "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
if [ "${HEARTH_SKIP_BUILD:-}" != "1" ]; then echo "== npm run build"; npm run build >/dev/null; fi

pg_port=$(free_port)
echo "== Postgres on 127.0.0.1:$pg_port (synchronous_commit on, fsync on)"
"${as_pg[@]}" "$PGBIN/initdb" -D "$work/pg" -A trust -U hearth -E UTF8 >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=50 -c synchronous_commit=on -c fsync=on" >/dev/null
url="postgres://hearth@127.0.0.1:$pg_port/postgres"
# The role settings docs/deploy.md recommends: no statement cut short before Hearth's own 10 s.
"${as_pg[@]}" "$PGBIN/psql" -q -h "$work" -p "$pg_port" -U hearth -d postgres \
  -c "ALTER ROLE hearth SET statement_timeout = '30s'" -c "ALTER ROLE hearth SET lock_timeout = 0" \
  -c "ALTER ROLE hearth SET idle_in_transaction_session_timeout = '60s'" -c "ALTER ROLE hearth SET synchronous_commit = on"

declare -A port
port[a]=$(free_port); port[b]=$(free_port)
while [ "${port[b]}" = "${port[a]}" ]; do port[b]=$(free_port); done
start_node() { # start_node <id>
  local n=$1
  "$NODE" dist/cli/main.js start deploy/cluster-app.ts --port "${port[$n]}" --data "$work/data-$n" \
    --cluster "$url" --node-id "$n" --advertise "http://127.0.0.1:${port[$n]}" >>"$work/node-$n.log" 2>&1 &
  pid[$n]=$!
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:${port[$n]}/metrics" >/dev/null 2>&1 && return 0
    kill -0 "${pid[$n]}" 2>/dev/null || { cat "$work/node-$n.log"; exit 1; }
    sleep 0.2
  done
  echo "node $n did not start" >&2; cat "$work/node-$n.log"; exit 1
}
declare -A count
post() { # post <node> <agent>: one increment, checked against the last acknowledged count
  local got; got=$(curl -sS -X POST "http://127.0.0.1:${port[$1]}/agents/counter/$2")
  local want=$(( ${count[$2]:-0} + 1 ))
  [ "$got" = "$want" ] || { echo "agent $2 through node $1: got '$got', expected $want" >&2; exit 1; }
  count[$2]=$got
}
agents=(alice bob carol dave erin frank)
status() { "$NODE" dist/cli/main.js cluster status --cluster "$url" | sed 's/^/   /'; }

echo "== nodes a (:${port[a]}) and b (:${port[b]})"
start_node a; start_node b
for name in "${agents[@]}"; do post a "$name"; post b "$name"; post a "$name"; done
echo "   6 agents, 3 acknowledged increments each, through both nodes"
status

for n in a b; do
  other=$([ "$n" = a ] && echo b || echo a)
  echo "== rolling: SIGTERM node $n; every agent through node $other meanwhile"
  t0=$(date +%s%N)
  kill -TERM "${pid[$n]}"
  ( while kill -0 "${pid[$n]}" 2>/dev/null; do sleep 0.05; done; echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$work/exit-$n" ) &
  watcher=$!
  first=""
  for name in "${agents[@]}"; do
    post "$other" "$name"
    [ -n "$first" ] || first=$(( ($(date +%s%N) - t0) / 1000000 ))
  done
  t1=$(date +%s%N)
  status=0; wait "${pid[$n]}" || status=$?; unset "pid[$n]"; wait "$watcher"
  echo "   node $other answered the first agent ${first} ms and all 6 $(( (t1 - t0) / 1000000 )) ms after the SIGTERM; node $n had exited after $(cat "$work/exit-$n") ms (lease TTL: 3000 ms)"
  echo "   node $n exited with status $status"; [ "$status" = 0 ]
  start_node "$n"
  for name in "${agents[@]}"; do post "$n" "$name"; done
  echo "   node $n back (new binary would go here); every agent answered through it"
done
status
echo "   counts: $(for name in "${agents[@]}"; do printf '%s=%s ' "$name" "${count[$name]}"; done)"
echo "OK: rolling restart of both nodes, no acknowledged increment lost, no error seen by a client"

# ---- Restore one agent from a pg_dump (docs/deploy.md, "A cluster"), the cluster still running ----
psql() { "${as_pg[@]}" "$PGBIN/psql" -v ON_ERROR_STOP=1 -q -h "$work" -p "$pg_port" -U hearth "$@"; }
echo "== pg_dump -Fc -n hearth (while both nodes run)"
"${as_pg[@]}" "$PGBIN/pg_dump" -h "$work" -p "$pg_port" -U hearth -d postgres -Fc -n hearth -f "$work/hearth.dump"
dumped=${count[alice]}
post a alice; post b alice; post a alice; post b bob
echo "   after the dump: alice=${count[alice]} bob=${count[bob]}"
echo "== restore alice alone from the dump"
"${as_pg[@]}" "$PGBIN/createdb" -h "$work" -p "$pg_port" -U hearth hearth_restore
"${as_pg[@]}" "$PGBIN/pg_restore" -h "$work" -p "$pg_port" -U hearth -d hearth_restore "$work/hearth.dump"   # the dump holds schema hearth only (pg_restore -n would skip the schema itself)
psql -d hearth_restore -c "\copy (SELECT * FROM hearth.actor_snapshot WHERE actor_id = 'counter/alice') TO '$work/snap.csv' CSV"
psql -d hearth_restore -c "\copy (SELECT * FROM hearth.actor_log WHERE actor_id = 'counter/alice' ORDER BY seq) TO '$work/log.csv' CSV"
owner=$(psql -d postgres -At -c "SELECT owner FROM hearth.actor_lease WHERE actor_id = 'counter/alice'")
psql -d postgres <<SQL
BEGIN;
SELECT owner FROM hearth.actor_lease WHERE actor_id = 'counter/alice' FOR UPDATE;
UPDATE hearth.actor_lease SET owner = NULL, owner_incarnation = NULL, epoch = epoch + 1 WHERE actor_id = 'counter/alice';
DELETE FROM hearth.actor_log      WHERE actor_id = 'counter/alice';
DELETE FROM hearth.actor_snapshot WHERE actor_id = 'counter/alice';
\copy hearth.actor_snapshot FROM '$work/snap.csv' CSV
\copy hearth.actor_log FROM '$work/log.csv' CSV
COMMIT;
SQL
echo "   rows copied back ($(wc -l <"$work/snap.csv") snapshot, $(wc -l <"$work/log.csv") log); restarting its owner, node $owner"
kill -TERM "${pid[$owner]}"; wait "${pid[$owner]}"; unset "pid[$owner]"
start_node "$owner"
count[alice]=$dumped
post a alice; post b alice; post b bob
echo "   alice counts on from the dump ($dumped -> ${count[alice]}), bob kept his later writes (${count[bob]})"
echo "OK: one agent restored from pg_dump while the cluster ran"
