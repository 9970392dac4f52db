#!/usr/bin/env bash
# The waiting room against the seed design's Redis sorted set, on this machine, in one run.
#
# Redis: redis-benchmark -c 50 for ZADD (join) and ZRANK (position) on a local redis-server.
# boxoffice: wrk (bench/queue.lua, many pre-created guest sessions) on POST /v1/events/{id}/queue
# and GET /v1/events/{id}/queue/status of a paused queue. Targets: status >= 1.0x ZRANK ops/s,
# join >= 0.5x ZADD ops/s (ours include HTTP, JSON and signing; theirs do not). Memory: RSS
# growth of the server while FANS fans wait. Writes bench/results/queue.json.
#
# Both servers stay up and the four measurements alternate for ROUNDS rounds (ZADD, join, ZRANK,
# status); the figures are each one's median. On a shared two-core machine a neighbour's burst
# can halve one measurement; alternating puts both sides through the same weather, and the
# median drops the round it hit. Every round's figures are kept in the results.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION_S=${DURATION_S:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
FANS=${FANS:-20000}
REDIS_REQUESTS=${REDIS_REQUESTS:-500000}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=${BENCH_RESULTS:-bench/results/queue.json}

for tool in wrk redis-server redis-benchmark curl; do
  command -v "$tool" >/dev/null || { echo "bench/queue.sh: $tool missing; run scripts/bootstrap" >&2; exit 1; }
done

work=$(mktemp -d /tmp/boxoffice-bench-queue.XXXXXX)
server_pid=""
redis_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT


# --- redis ------------------------------------------------------------------------------------
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_ops() {  # prints requests per second of one redis-benchmark command
  redis-benchmark -p "$redis_port" -c "$CONNECTIONS" -n "$REDIS_REQUESTS" -r 10000000 --csv "$@" |
    python3 -c 'import csv,sys; rows=list(csv.reader(sys.stdin)); print(rows[-1][1])'
}

# --- boxoffice --------------------------------------------------------------------------------
admin_key=bench-admin-key
# wrk is one loopback address standing in for thousands of fans, so loopback skips the rate
# limits (docs/defense.md); the defence's own cost is measured in src/defense/.
BOXOFFICE_ADMIN_KEY=$admin_key start_server --log-level warn --defense-allowlist 127.0.0.1/32
event_id=$(curl -sf -X POST "$base/v1/events" -H "Authorization: Bearer $admin_key" \
  -H 'Content-Type: application/json' -d '{"name":"Bench","price_tiers":[{"id":"A","price_cents":5000}],
  "sections":[{"id":"101","tier":"A","rows":[{"label":"A","seats":20}]}],
  "queue":{"enabled":true,"paused":true}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }

# Guest sessions, created over keep-alive connections (not measured).
python3 - "$base" "$FANS" "$work/sessions.txt" <<'PY'
import http.client, json, sys, threading, urllib.parse
base, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
url = urllib.parse.urlparse(base)
tokens = [None] * count
def work(start, step):
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in range(start, count, step):
        connection.request("POST", "/v1/sessions", body=b"{}",
                           headers={"Content-Type": "application/json"})
        tokens[i] = json.loads(connection.getresponse().read())["session_token"]
threads = [threading.Thread(target=work, args=(i, 4)) for i in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
open(path, "w").write("\n".join(tokens) + "\n")
PY

measure() {  # mode -> "requests_per_s latency_p99_ms"
  local out
  out=$(FANS_FILE=$1 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency \
    -s bench/queue.lua "$base" -- "$2" "$event_id")
  local errors
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  [ -z "$errors" ] || { echo "bench/queue.sh: $2 answered $errors non-2xx responses" >&2; exit 1; }
  awk '/^Requests\/sec:/ {rps=$2} $1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000}
       else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; p=v}
       END {print rps, p}' <<<"$out"
}

zadd_runs=(); join_runs=(); zrank_runs=(); status_runs=(); join_p99s=(); status_p99s=()
for round in $(seq "$ROUNDS"); do
  zadd_runs+=("$(redis_ops ZADD queue __rand_int__ fan:__rand_int__)")
  [ "$round" = 1 ] && rss_before=$(rss_kb)
  # The first pass over the sessions are first joins; later passes re-join (200, same place).
  read -r rps p99 < <(measure "$work/sessions.txt" join)
  join_runs+=("$rps"); join_p99s+=("$p99")
  if [ "$round" = 1 ]; then
    rss_after=$(rss_kb)
    joined=$(curl -sf "$base/v1/events/$event_id/stats" -H "Authorization: Bearer $admin_key" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["queue"]["joined"])')
    # Tickets for the status runs: one join per session (each answers its existing place).
    python3 - "$base" "$event_id" "$work/sessions.txt" "$work/fans.txt" <<'PY'
import http.client, json, sys, urllib.parse
base, event_id, sessions, out = sys.argv[1:5]
url = urllib.parse.urlparse(base)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
lines = []
for token in open(sessions).read().split():
    connection.request("POST", f"/v1/events/{event_id}/queue",
                       headers={"Authorization": "Bearer " + token})
    lines.append(token + " " + json.loads(connection.getresponse().read())["queue_ticket"])
open(out, "w").write("\n".join(lines) + "\n")
PY
  fi
  zrank_runs+=("$(redis_ops ZRANK queue fan:__rand_int__)")
  read -r rps p99 < <(measure "$work/fans.txt" status)
  status_runs+=("$rps"); status_p99s+=("$p99")
  echo "round $round: ZADD ${zadd_runs[-1]} join ${join_runs[-1]} ZRANK ${zrank_runs[-1]} status ${status_runs[-1]}" >&2
done

mkdir -p bench/results
python3 - "$RESULTS" <<PY
import json, os, sys, datetime, statistics
runs = {"zadd": [$(IFS=,; echo "${zadd_runs[*]}")], "join": [$(IFS=,; echo "${join_runs[*]}")],
        "zrank": [$(IFS=,; echo "${zrank_runs[*]}")], "status": [$(IFS=,; echo "${status_runs[*]}")]}
p99 = {"join": [$(IFS=,; echo "${join_p99s[*]}")], "status": [$(IFS=,; echo "${status_p99s[*]}")]}
median = {name: statistics.median(values) for name, values in runs.items()}
result = {
  "benchmark": "queue", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "machine": {"cores": os.cpu_count()},
  "rounds": $ROUNDS,
  "method": "redis-benchmark and wrk alternate (ZADD, join, ZRANK, status) for each round; "
            "figures are medians over the rounds, every round is listed under runs",
  "redis": {"clients": $CONNECTIONS, "requests": $REDIS_REQUESTS,
            "zadd_per_s": median["zadd"], "zrank_per_s": median["zrank"]},
  "wrk": {"threads": $THREADS, "connections": $CONNECTIONS, "duration_s": $DURATION_S,
          "sessions": $FANS},
  "boxoffice_join": {"requests_per_s": median["join"],
                     "latency_p99_ms": statistics.median(p99["join"]),
                     "first_joins": $joined, "ratio_to_zadd": round(median["join"] / median["zadd"], 3),
                     "target_ratio": 0.5},
  "boxoffice_status": {"requests_per_s": median["status"],
                       "latency_p99_ms": statistics.median(p99["status"]),
                       "ratio_to_zrank": round(median["status"] / median["zrank"], 3),
                       "target_ratio": 1.0},
  "runs": runs,
  "server_rss_growth_mb_for_joined": round(($rss_after - $rss_before) / 1024, 1),
  "note": "join requests cycle over the sessions: after the first pass they are re-joins (200). "
          "Memory per million waiting fans is measured in-process by BM_QueueMemoryMillionFans.",
}
with open(sys.argv[1], "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
print(json.dumps(result, indent=2))
PY
