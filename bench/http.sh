#!/usr/bin/env bash
# Whole-server HTTP throughput: boxoffice against nginx on this machine, in one run.
#
# wrk -t2 -c100 against boxoffice's /healthz and GET /v1/events/{id} (a small event, and the
# ~20,000-seat demo arena), then against nginx (Debian package, started here on loopback) returning a
# fixed 30-byte JSON body. Writes bench/results/http.json. Target: boxoffice >= 0.6x nginx.
# wrk is one address sending tens of thousands of requests a second, so loopback is on the
# defence allowlist: this measures the server, not the rate limiter refusing wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION_S=${DURATION_S:-10}
CONNECTIONS=${CONNECTIONS:-100}
THREADS=${THREADS:-2}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=${BENCH_RESULTS:-bench/results/http.json}

command -v wrk >/dev/null || { echo "bench/http.sh: wrk missing; run scripts/bootstrap" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "bench/http.sh: nginx missing" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/boxoffice-bench-http.XXXXXX)
server_pid=""
nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT


# Runs wrk and prints "requests_per_s latency_p99_ms".
measure() {
  local url=$1 out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency "$url")
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(wrk_p99_ms <<<"$out")
  local errors
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  [ -z "$errors" ] || { echo "bench/http.sh: $url answered $errors non-2xx responses" >&2; exit 1; }
  echo "$rps ${p99:-0}"
}

# --- boxoffice --------------------------------------------------------------------------------
admin_key=bench-admin-key
BOXOFFICE_ADMIN_KEY=$admin_key start_server --demo --log-level warn --defense-allowlist 127.0.0.1/32
demo_id=$(sed -n 's#.*demo event at .*/v1/events/\([a-z0-9_]*\).*#\1#p' "$work/server.out")
small_id=$(curl -sf -X POST "$base/v1/events" -H "Authorization: Bearer $admin_key" \
  -H 'Content-Type: application/json' -d '{"name":"Bench","price_tiers":[{"id":"A","price_cents":5000}],
  "sections":[{"id":"101","tier":"A","rows":[{"label":"A","seats":20}]}]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

read -r healthz_rps healthz_p99 < <(measure "$base/healthz")
read -r event_rps event_p99 < <(measure "$base/v1/events/$small_id")
read -r demo_rps demo_p99 < <(measure "$base/v1/events/$demo_id")
demo_bytes=$(curl -s "$base/v1/events/$demo_id" | wc -c)
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

# --- nginx, same machine, same wrk settings ---------------------------------------------------
start_nginx http
nginx_bytes=$(curl -s "$nginx_url" | wc -c)
read -r nginx_rps nginx_p99 < <(measure "$nginx_url")

mkdir -p bench/results
python3 - "$RESULTS" <<PY
import json, os, sys, datetime
nginx = float("$nginx_rps")
result = {
  "benchmark": "http", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "machine": {"cores": os.cpu_count()},
  "wrk": {"threads": $THREADS, "connections": $CONNECTIONS, "duration_s": $DURATION_S},
  "nginx": {"requests_per_s": nginx, "latency_p99_ms": float("$nginx_p99"), "body_bytes": $nginx_bytes},
  "boxoffice_healthz": {"requests_per_s": float("$healthz_rps"), "latency_p99_ms": float("$healthz_p99"),
                        "ratio_to_nginx": round(float("$healthz_rps") / nginx, 3)},
  "boxoffice_get_event": {"requests_per_s": float("$event_rps"), "latency_p99_ms": float("$event_p99"),
                          "ratio_to_nginx": round(float("$event_rps") / nginx, 3)},
  "boxoffice_get_demo_event": {"requests_per_s": float("$demo_rps"), "latency_p99_ms": float("$demo_p99"),
                               "body_bytes": $demo_bytes,
                               "ratio_to_nginx": round(float("$demo_rps") / nginx, 3)},
  "target": "boxoffice >= 0.6x nginx requests/s",
}
with open(sys.argv[1], "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
print(json.dumps(result, indent=2))
PY
