#!/usr/bin/env bash
# What direct TLS (--tls-cert, --tls-key) costs: boxoffice's /healthz over plain HTTP and over
# HTTPS, and nginx over HTTPS with the same certificate (a P-256 key made here) as the peer, in
# one run. Each with wrk -t2 -c100 on kept-alive connections (the handshake amortised: the cost
# of encryption), and with `Connection: close` (a full handshake per request: the cost of a
# stampede of new fans). Writes bench/results/tls.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION_S=${DURATION_S:-10}
CONNECTIONS=${CONNECTIONS:-100}
THREADS=${THREADS:-2}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=${BENCH_RESULTS:-bench/results/tls.json}

command -v wrk >/dev/null || { echo "bench/tls.sh: wrk missing; run scripts/bootstrap" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench/tls.sh: nginx missing; run scripts/bootstrap" >&2; exit 1; }

work=$(mktemp -d /tmp/boxoffice-bench-tls.XXXXXX)
server_pid=""
nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

# Runs wrk (extra arguments before the URL) and prints "requests_per_s latency_p99_ms".
measure() {
  local out rps p99 errors
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency "$@")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(wrk_p99_ms <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  [ -z "$errors" ] || { echo "bench/tls.sh: $* answered $errors non-2xx responses" >&2; exit 1; }
  echo "$rps ${p99:-0}"
}
close=(-H "Connection: close")

start_server --log-level warn --defense-allowlist 127.0.0.1/32
read -r plain_rps plain_p99 < <(measure "$base/healthz")
read -r plain_close_rps plain_close_p99 < <(measure "${close[@]}" "$base/healthz")
stop_server
start_server --log-level warn --defense-allowlist 127.0.0.1/32 \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key"
read -r tls_rps tls_p99 < <(measure "$base/healthz")
read -r tls_close_rps tls_close_p99 < <(measure "${close[@]}" "$base/healthz")
stop_server

start_nginx https "$work/tls.crt" "$work/tls.key"
read -r nginx_rps nginx_p99 < <(measure "$nginx_url")
read -r nginx_close_rps nginx_close_p99 < <(measure "${close[@]}" "$nginx_url")

mkdir -p bench/results
python3 - "$RESULTS" <<PY
import json, os, sys, datetime
def row(rps, p99):
    return {"requests_per_s": float(rps), "latency_p99_ms": float(p99)}
result = {
  "benchmark": "tls", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "machine": {"cores": os.cpu_count()},
  "wrk": {"threads": $THREADS, "connections": $CONNECTIONS, "duration_s": $DURATION_S},
  "certificate": "self-signed ECDSA P-256",
  "kept_alive": {
    "boxoffice_http": row("$plain_rps", "$plain_p99"),
    "boxoffice_https": row("$tls_rps", "$tls_p99"),
    "nginx_https": row("$nginx_rps", "$nginx_p99"),
  },
  "connection_per_request": {
    "boxoffice_http": row("$plain_close_rps", "$plain_close_p99"),
    "boxoffice_https": row("$tls_close_rps", "$tls_close_p99"),
    "nginx_https": row("$nginx_close_rps", "$nginx_close_p99"),
  },
}
for kind in ("kept_alive", "connection_per_request"):
    block = result[kind]
    block["https_to_http"] = round(block["boxoffice_https"]["requests_per_s"] /
                                   block["boxoffice_http"]["requests_per_s"], 3)
    block["https_to_nginx_https"] = round(block["boxoffice_https"]["requests_per_s"] /
                                          block["nginx_https"]["requests_per_s"], 3)
with open(sys.argv[1], "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
print(json.dumps(result, indent=2))
PY
