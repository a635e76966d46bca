#!/usr/bin/env bash
# Runs deploy/nginx.conf for real: a self-signed certificate, Hearth serving examples/counter on a
# free port, nginx (TLS + WebSockets) in front of it on two more free ports, then checks through the
# proxy: the HTTP->HTTPS redirect, HTTPS requests to an agent, a WebSocket with an RPC, /metrics
# hidden, and a graceful stop of Hearth on SIGTERM. Needs nginx, openssl, curl; runs as any user.
# Everything lives in a temporary directory that is removed at the end, whatever happens.
#   deploy/check-nginx.sh              # builds first (npm run build)
#   HEARTH_SKIP_BUILD=1 deploy/check-nginx.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
# Node 24 itself (the dev dependency), not `npx node`: npx would stand between the signal and Hearth.
NODE=${NODE:-node_modules/.bin/node}

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-nginx-XXXXXX")
chmod 755 "$work" # nginx workers may run as another user (nobody) when this runs as root
hearth_pid=""
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ -n "$hearth_pid" ] && kill "$hearth_pid" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
hearth_port=$(free_port); https_port=$(free_port); http_port=$(free_port)
while [ "$https_port" = "$hearth_port" ]; do https_port=$(free_port); done
while [ "$http_port" = "$hearth_port" ] || [ "$http_port" = "$https_port" ]; do http_port=$(free_port); done

echo "== certificate (self-signed, for localhost and 127.0.0.1)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>/dev/null

if [ "${HEARTH_SKIP_BUILD:-}" != "1" ]; then echo "== npm run build"; npm run build >/dev/null; fi

echo "== hearth start examples/counter on 127.0.0.1:$hearth_port"
"$NODE" dist/cli/main.js start examples/counter/src/index.ts \
  --host 127.0.0.1 --port "$hearth_port" --data "$work/data" >"$work/hearth.log" 2>&1 &
hearth_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$hearth_port/metrics" >/dev/null 2>&1 && break
  kill -0 "$hearth_pid" 2>/dev/null || { cat "$work/hearth.log"; exit 1; }
  sleep 0.2
done

echo "== nginx on :$http_port (HTTP) and :$https_port (HTTPS), using deploy/nginx.conf"
# The site file as shipped, with only ports, addresses and certificate paths replaced.
sed -e "s|server 127.0.0.1:8787|server 127.0.0.1:$hearth_port|" \
    -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https_port ssl http2;|" \
    -e "/listen \[::\]/d" \
    -e "s|/etc/ssl/hearth/|$work/|" \
    deploy/nginx.conf >"$work/hearth.conf"
cat >"$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/error.log;
events {}
http {
  access_log $work/access.log;
  client_body_temp_path $work/tmp-body;
  proxy_temp_path $work/tmp-proxy;
  fastcgi_temp_path $work/tmp-fastcgi;
  uwsgi_temp_path $work/tmp-uwsgi;
  scgi_temp_path $work/tmp-scgi;
  include $work/hearth.conf;
}
CONF
"$NGINX" -t -q -p "$work" -c "$work/nginx.conf"
"$NGINX" -p "$work" -c "$work/nginx.conf"
for _ in $(seq 1 50); do [ -f "$work/nginx.pid" ] && break; sleep 0.1; done

curl_tls() { curl -sS --cacert "$work/fullchain.pem" "$@"; }
base="https://localhost:$https_port"

echo "== checks through the proxy"
redirect=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/agents/counter/alice")
echo "http://…/agents/counter/alice -> $redirect"
[[ "$redirect" == 301\ https://* ]]
one=$(curl_tls -X POST "$base/agents/counter/alice"); echo "POST $base/agents/counter/alice -> $one"
two=$(curl_tls -X POST "$base/agents/counter/alice"); echo "POST $base/agents/counter/alice -> $two"
[ "$one" = 1 ] && [ "$two" = 2 ]
"$NODE" deploy/ws-check.mjs "wss://localhost:$https_port/agents/counter/alice" "$work/fullchain.pem"
three=$(curl_tls -X POST "$base/agents/counter/alice"); echo "POST $base/agents/counter/alice -> $three (after the RPC's +10)"
[ "$three" = 13 ]
metrics=$(curl_tls -o /dev/null -w '%{http_code}' "$base/metrics"); echo "GET $base/metrics -> $metrics (hidden by the proxy)"
[ "$metrics" = 403 ]

echo "== SIGTERM to hearth (pid $hearth_pid)"
kill -TERM "$hearth_pid"
status=0; wait "$hearth_pid" || status=$?
hearth_pid=""
echo "hearth exited with status $status"
[ "$status" = 0 ] || { cat "$work/hearth.log"; exit 1; }
echo "OK: TLS, HTTPS requests and a WebSocket RPC through nginx; graceful stop on SIGTERM"
