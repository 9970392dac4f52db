#!/usr/bin/env bash
# The on-sale end to end at stadium scale (issue 15), server and simulator on this machine:
# `boxoffice onsale` plays the fans against a real `boxoffice serve` with a real `gateway-sim`.
#
#   SCENARIO=sale   FANS (1,000,000) fans for SEATS (50,000) seats: sold out, audit clean.
#   SCENARIO=chaos  the same sale, with the server killed by kill -9 CHAOS_AT_S into the run and
#                   restarted on the same data dir and port; fans ride over the outage
#                   (retries with backoff, idempotency keys reused) and the audit must still hold.
#   SCENARIO=join   JOIN_FANS (10,000,000) fans join one event: the join burst, the queue held,
#                   the sell-out told to all. Reports the server's memory per waiting fan (RSS
#                   growth / fans waiting at the peak) and the status traffic against the budget.
#
# Each writes bench/results/onsale-<scenario>.json (the simulator's report, plus the run's
# server-side figures under "bench") and .html. Nothing is asserted here: the audit's verdict is
# the exit code, the figures are for the reader. Quick try: FANS=20000 SEATS=2000 bench/onsale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

SCENARIO=${SCENARIO:-sale}
FANS=${FANS:-1000000}
SEATS=${SEATS:-50000}
JOIN_FANS=${JOIN_FANS:-10000000}
RATE=${RATE:-500}               # admissions per second
MAX_ACTIVE=${MAX_ACTIVE:-5000}
SPIKE_S=${SPIKE_S:-300}         # a million fans cannot all arrive within seconds on 2 cores
TAIL_S=${TAIL_S:-240}
PREQUEUE_S=${PREQUEUE_S:-30}
CHAOS_AT_S=${CHAOS_AT_S:-150}   # into the run: after the opening, while fans buy
ERROR_RATE=${ERROR_RATE:-0.01}  # gateway faults (500 api_error, retried by the fans)
HOLD_TTL_S=${HOLD_TTL_S:-120}   # abandoned holds come back after this
# Status polls per second for the whole queue: the server's default (20,000) is sized for a
# server of its own; here server and simulator share two cores.
POLL_BUDGET=${POLL_BUDGET:-5000}
DURATION_MAX_S=${DURATION_MAX_S:-1800}
CONNECTIONS=${CONNECTIONS:-256}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS_DIR=${BENCH_RESULTS_DIR:-bench/results}

case "$SCENARIO" in
  sale|chaos) fans=$FANS ;;
  join) fans=$JOIN_FANS ;;
  *) echo "bench/onsale.sh: SCENARIO is sale, chaos or join" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/boxoffice-bench-onsale.XXXXXX)
server_pid=""
sim_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$BINARY" gateway-sim --listen 127.0.0.1:0 --api-key sk_test_bench --error-rate "$ERROR_RATE" \
  >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
sim_url=$(announced_url "$work/sim.out")
[ -n "$sim_url" ] || { echo "bench/onsale.sh: gateway-sim did not start" >&2; exit 1; }

port=$(free_port)
export BOXOFFICE_ADMIN_KEY=bench-onsale-key
serve() {
  "$BINARY" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn \
    --trusted-proxies 127.0.0.1/32 --gateway "name=sim,url=$sim_url,key=sk_test_bench" \
    >>"$work/server.out" 2>>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "bench/onsale.sh: boxoffice did not start" >&2; tail -20 "$work/server.err" >&2; exit 1
}
serve
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0; }
rss_start_kb=$(rss_kb)

# Samples the server's RSS and the queue's waiting count every second, for the join figures.
sample() {
  while kill -0 "$server_pid" 2>/dev/null; do
    waiting=$(curl -sf "http://127.0.0.1:$port/metrics" |
      awk '/^boxoffice_queue_waiting\{/ {w += $2} END {print w + 0}')
    echo "$(date +%s.%N) $(rss_kb) $waiting"
    sleep 1
  done
}
sample >"$work/samples.txt" &
sampler_pid=$!

if [ "$SCENARIO" = chaos ]; then
  (
    sleep "$CHAOS_AT_S"
    kill -9 "$server_pid"
    echo "bench/onsale.sh: killed the server (kill -9) at ${CHAOS_AT_S}s" >&2
  ) &
fi

onsale_args=(--url "http://127.0.0.1:$port" --fans "$fans" --seats "$SEATS"
  --admission-rate "$RATE" --max-active "$MAX_ACTIVE" --spike-s "$SPIKE_S" --tail-s "$TAIL_S"
  --prequeue-s "$PREQUEUE_S" --connections "$CONNECTIONS" --gateway-sim "$sim_url"
  --hold-ttl-s "$HOLD_TTL_S" --poll-budget "$POLL_BUDGET" --duration-max-s "$DURATION_MAX_S"
  --report "$work/report.json" --html "$work/report.html")
started=$(date +%s)
set +e
if [ "$SCENARIO" = chaos ]; then
  "$BINARY" onsale "${onsale_args[@]}" &
  onsale_pid=$!
  # Restart the server as soon as it is gone, on the same data dir and port.
  while kill -0 "$server_pid" 2>/dev/null; do sleep 0.2; done
  wait "$server_pid" 2>/dev/null
  restarted_at=$(( $(date +%s) - started ))
  serve
  kill "$sampler_pid" 2>/dev/null; sample >>"$work/samples.txt" &
  sampler_pid=$!
  wait "$onsale_pid"
  status=$?
else
  restarted_at=None
  "$BINARY" onsale "${onsale_args[@]}"
  status=$?
fi
set -e
elapsed=$(( $(date +%s) - started ))
kill "$sampler_pid" 2>/dev/null || true
rss_end_kb=$(rss_kb)

mkdir -p "$RESULTS_DIR"
python3 - "$work/report.json" "$work/samples.txt" "$RESULTS_DIR/onsale-$SCENARIO.json" <<PY
import json, sys
report = json.load(open(sys.argv[1]))
samples = [line.split() for line in open(sys.argv[2]) if len(line.split()) == 3]
rss = [int(s[1]) * 1024 for s in samples]
waiting = [float(s[2]) for s in samples]
peak = max(range(len(samples)), key=lambda i: waiting[i]) if samples else None
bench = {
    "scenario": "$SCENARIO", "fans": $fans, "seats": $SEATS, "admission_rate_per_s": $RATE,
    "max_active": $MAX_ACTIVE, "elapsed_s": $elapsed, "exit_code": $status,
    "restarted_at_s": $restarted_at,
    "server_rss_start_bytes": $rss_start_kb * 1024, "server_rss_end_bytes": $rss_end_kb * 1024,
    "server_rss_max_bytes": max(rss) if rss else None,
    "waiting_peak": waiting[peak] if peak is not None else None,
}
if peak is not None and waiting[peak] > 0:
    bench["server_rss_at_waiting_peak_bytes"] = rss[peak]
    bench["server_bytes_per_waiting_fan"] = round(
        (rss[peak] - $rss_start_kb * 1024) / waiting[peak], 1)
report["bench"] = bench
json.dump(report, open(sys.argv[3], "w"), indent=2)
print(json.dumps(bench, indent=2))
PY
cp "$work/report.html" "$RESULTS_DIR/onsale-$SCENARIO.html"
exit "$status"
