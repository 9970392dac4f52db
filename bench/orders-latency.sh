#!/usr/bin/env bash
# Orders with a fast and a slow gateway, two builds under the same weather (issue 18): bench/orders.sh
# at 20 ms and at 200 ms gateway latency, each for the baseline binary and the candidate, in the
# order baseline, candidate, candidate, baseline per latency (ABBA), so that a drift of the
# machine weighs on both alike. Each side's figure is the mean of its two runs. The outbox is not
# waited for (DRAIN_S_MAX=0): the point is the orders' path. Writes bench/results/orders-latency.json.
#
#   bench/orders-latency.sh BASELINE_BINARY [CANDIDATE_BINARY]   (candidate: build/boxoffice)
#
# Build the baseline from an older commit in a worktree of its own, as bench/compare.sh says.
# CONNECTIONS (default 512) are wrk's connections: at 200 ms one connection buys at most about
# four orders a second, so fewer would make the client, not the server, the limit.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
baseline=$1
candidate=${2:-build/boxoffice}
for binary in "$baseline" "$candidate"; do
  [ -x "$binary" ] || { echo "bench/orders-latency.sh: $binary is not an executable" >&2; exit 2; }
done
export CONNECTIONS=${CONNECTIONS:-512} DRAIN_S_MAX=0
RESULTS=bench/results/orders-latency.json
work=$(mktemp -d /tmp/boxoffice-bench-orders-latency.XXXXXX)
trap 'rm -rf "$work"' EXIT

run() {  # latency side pass
  echo "bench/orders-latency.sh: $1 ms, the $2 binary (pass $3)" >&2
  LATENCY_MS=$1 BOXOFFICE_BINARY=$([ "$2" = baseline ] && echo "$baseline" || echo "$candidate") \
    BENCH_RESULTS="$work/$1-$2-$3.json" bench/orders.sh >/dev/null
}
for latency in 20 200; do
  run "$latency" baseline 1
  run "$latency" candidate 1
  run "$latency" candidate 2
  run "$latency" baseline 2
done

mkdir -p bench/results
python3 - "$RESULTS" "$work" "$baseline" "$candidate" "$CONNECTIONS" <<'PY'
import datetime, json, os, subprocess, sys
results, work, baseline, candidate, connections = sys.argv[1:6]

def version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return None

def side(latency, name):
    runs = [json.load(open("%s/%s-%s-%d.json" % (work, latency, name, n))) for n in (1, 2)]
    mean = lambda pick: round(sum(pick(r) or 0 for r in runs) / len(runs), 1)
    return {
        "confirmed_orders_per_s": mean(lambda r: r["confirmed_orders_per_s"]),
        "order_p50_ms": mean(lambda r: r["latency_ms"]["order_p50"]),
        "order_p99_ms": mean(lambda r: r["latency_ms"]["order_p99"]),
        "hold_p99_ms": mean(lambda r: r["latency_ms"]["hold_p99"]),
        "authorized_twice": sum(r["gateway_records"]["authorized_twice"] for r in runs),
        "runs": [{"confirmed_orders_per_s": r["confirmed_orders_per_s"],
                  "order_p99_ms": r["latency_ms"]["order_p99"]} for r in runs],
    }

report = {
    "benchmark": "orders-latency",
    "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cores": os.cpu_count()},
    "load": {"connections": int(connections), "duration_s_per_run": 10, "order": "ABBA"},
    "baseline": {"binary": baseline, "version": version(baseline)},
    "candidate": {"binary": candidate, "version": version(candidate)},
    "by_gateway_latency_ms": {},
    "target": ">= 2,000 confirmed orders/s with the order p99 under 100 ms at 20 ms; at 200 ms, "
              "throughput not limited by threads",
}
for latency in (20, 200):
    b, c = side(latency, "baseline"), side(latency, "candidate")
    report["by_gateway_latency_ms"][str(latency)] = {
        "baseline": b, "candidate": c,
        "orders_per_s_ratio": round(c["confirmed_orders_per_s"] /
                                    max(b["confirmed_orders_per_s"], 1e-9), 2),
    }
with open(results, "w") as out:
    json.dump(report, out, indent=2)
    out.write("\n")
print(json.dumps(report, indent=2))
PY
