#!/usr/bin/env bash
# Two builds of boxoffice under the same weather: bench/queue.sh and bench/http.sh, each run for
# the baseline binary and for the candidate in the order baseline, candidate, candidate, baseline
# (ABBA), so that a drift of the machine over the run weighs on both alike. Each side's figure is
# the mean of its two runs; the ratio is candidate / baseline, and the peers each script measures
# (Redis, nginx) are kept as a check on the weather, and each run's figure over its peer's
# (`per_peer`) takes the weather out. Writes bench/results/compare.json.
#
#   bench/compare.sh BASELINE_BINARY [CANDIDATE_BINARY]   (candidate: build/boxoffice)
#
# Build the baseline from an older commit in a worktree of its own, e.g.
#   git worktree add /tmp/old <commit> && cmake -S /tmp/old -B /tmp/old/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release && ninja -C /tmp/old/build boxoffice
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
baseline=$1
candidate=${2:-build/boxoffice}
for binary in "$baseline" "$candidate"; do
  [ -x "$binary" ] || { echo "bench/compare.sh: $binary is not an executable" >&2; exit 2; }
done
export ROUNDS=${ROUNDS:-2}
RESULTS=bench/results/compare.json
work=$(mktemp -d /tmp/boxoffice-bench-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

run() {  # script side pass
  echo "bench/compare.sh: $1 with the $2 binary (pass $3)" >&2
  BOXOFFICE_BINARY=$([ "$2" = baseline ] && echo "$baseline" || echo "$candidate") \
    BENCH_RESULTS="$work/$1-$2-$3.json" "bench/$1.sh" >/dev/null
}
for script in queue http; do
  run "$script" baseline 1
  run "$script" candidate 1
  run "$script" candidate 2
  run "$script" baseline 2
done

mkdir -p bench/results
python3 - "$work" "$RESULTS" "$baseline" "$candidate" <<'PY'
import datetime, json, os, subprocess, sys
work, out_path, baseline, candidate = sys.argv[1:5]
def load(script, side, n):
    with open(os.path.join(work, f"{script}-{side}-{n}.json")) as f:
        return json.load(f)
figures = {
    "queue": {"status_per_s": ("boxoffice_status", "requests_per_s"),
              "join_per_s": ("boxoffice_join", "requests_per_s"),
              "peer_redis_zrank_per_s": ("redis", "zrank_per_s"),
              "peer_redis_zadd_per_s": ("redis", "zadd_per_s")},
    "http": {"healthz_per_s": ("boxoffice_healthz", "requests_per_s"),
             "get_event_per_s": ("boxoffice_get_event", "requests_per_s"),
             "get_demo_event_per_s": ("boxoffice_get_demo_event", "requests_per_s"),
             "peer_nginx_per_s": ("nginx", "requests_per_s")},
}
def version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return ""
result = {"benchmark": "compare",
          "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
          "machine": {"cores": os.cpu_count()},
          "method": "ABBA: baseline, candidate, candidate, baseline for each script; a side's "
                    "figure is the mean of its two runs; ratio = candidate / baseline",
          "rounds_per_queue_run": int(os.environ.get("ROUNDS", "2")),
          "baseline": {"binary": baseline, "version": version(baseline)},
          "candidate": {"binary": candidate, "version": version(candidate)}}
for script, wanted in figures.items():
    section = {}
    for name, (group, field) in wanted.items():
        runs = {side: [load(script, side, n)[group][field] for n in (1, 2)]
                for side in ("baseline", "candidate")}
        means = {side: sum(values) / len(values) for side, values in runs.items()}
        section[name] = {"baseline": round(means["baseline"], 1),
                         "candidate": round(means["candidate"], 1),
                         "ratio": round(means["candidate"] / means["baseline"], 3),
                         "runs": runs}
    result[script] = section
# Each run's figure over the peer measured in the same run (the status poll over ZRANK, a page
# over nginx): the weather of that run cancels out, so these ratios are steadier than the raw ones.
peers = {"queue": "peer_redis_zrank_per_s", "http": "peer_nginx_per_s"}
result["per_peer"] = {}
for script, peer in peers.items():
    for name, entry in result[script].items():
        if name.startswith("peer_"):
            continue
        sides = {side: sum(value / peer_value for value, peer_value in
                           zip(entry["runs"][side], result[script][peer]["runs"][side])) / 2
                 for side in ("baseline", "candidate")}
        result["per_peer"][f"{script}.{name}"] = {
            "baseline": round(sides["baseline"], 3), "candidate": round(sides["candidate"], 3),
            "ratio": round(sides["candidate"] / sides["baseline"], 3)}
with open(out_path, "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
for script in figures:
    for name, entry in result[script].items():
        print(f"{script:6} {name:24} baseline {entry['baseline']:>10} candidate "
              f"{entry['candidate']:>10} ratio {entry['ratio']}")
for name, entry in result["per_peer"].items():
    print(f"per peer {name:28} baseline {entry['baseline']:>6} candidate "
          f"{entry['candidate']:>6} ratio {entry['ratio']}")
PY
