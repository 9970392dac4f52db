#!/usr/bin/env bash
# The bot defence's evaluation (issue 6): `boxoffice botsim` drives the real server with labelled
# fans and five kinds of bot, first under the compiled-in risk model, then trains a model on
# another run's scored requests (`botsim --train`), restarts the server on the same data dir so it
# loads the trained model, and evaluates again with a third seed.
#
# Targets: >= 99% of naive and header-spoofing bots stopped, <= 2% of humans challenged, 0 humans
# blocked. Writes bench/results/botsim.json (both reports, the trained model's version, weights
# and thresholds, the machine, the date, each target met or not) and the trained model itself as
# bench/results/risk-model.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

HUMANS=${HUMANS:-2000}
BOTS=${BOTS:-300}  # per bot kind
TIME_SCALE=${TIME_SCALE:-0.2}
CONCURRENCY=${CONCURRENCY:-200}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=bench/results/botsim.json

[ -x "$BINARY" ] || make build

work=$(mktemp -d /tmp/boxoffice-bench-botsim.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export BOXOFFICE_ADMIN_KEY=bench-botsim-admin-key
# Loopback is the simulator's address; trusting it for X-Forwarded-For gives each simulated
# client its own address, as a load balancer in front of the server would.
start_botsim_server() { start_server --log-level info --trusted-proxies 127.0.0.1/32; }
botsim() {  # seed report [flags...]
  local seed=$1 report=$2; shift 2
  "$BINARY" botsim --url "$base" --humans "$HUMANS" --bots "$BOTS" --seed "$seed" \
    --time-scale "$TIME_SCALE" --concurrency "$CONCURRENCY" --report "$report" "$@"
}

start_botsim_server
botsim 1 "$work/default.json"
botsim 2 "$work/training.json" --train --data-dir "$work/data"
stop_server

start_botsim_server
loaded=$(sed -n 's/.*"msg":"risk_model","version":"\([^"]*\)".*/\1/p' "$work/server.err" | head -1)
trained=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
  "$work/data/risk-model.json")
[ "$loaded" = "$trained" ] || {
  echo "bench/botsim.sh: the server loaded '$loaded', not the trained '$trained'" >&2; exit 1; }
botsim 3 "$work/trained.json"
stop_server

mkdir -p bench/results
cp "$work/data/risk-model.json" bench/results/risk-model.json
python3 - "$RESULTS" "$work" <<PY
import datetime, json, os, platform, sys
out, work = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(os.path.join(work, name)))
model = load("data/risk-model.json")
cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
            if line.startswith("model name")), platform.processor())
def targets(report):
    return {name: target["met"] for name, target in report["targets"].items()}
result = {
    "benchmark": "botsim",
    "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cores": os.cpu_count(), "cpu": cpu},
    "load": {"humans": $HUMANS, "bots_per_kind": $BOTS, "time_scale": $TIME_SCALE,
             "concurrency": $CONCURRENCY, "seeds": {"default": 1, "training": 2, "trained": 3}},
    "targets": {"naive_stopped": ">= 0.99", "header_spoofing_stopped": ">= 0.99",
                "humans_challenged": "<= 0.02", "humans_blocked": "0"},
    "default_model": {"report": load("default.json"), "targets_met": targets(load("default.json"))},
    "training_run": {"report": load("training.json")},
    "trained_model": {"version": model["version"], "bias": model["bias"],
                      "weights": model["weights"], "thresholds": model["thresholds"],
                      "trained": {k: v for k, v in model["trained"].items() if k != "run"},
                      "report": load("trained.json"), "targets_met": targets(load("trained.json"))},
}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
for name in ("default_model", "trained_model"):
    print(name, json.dumps(result[name]["targets_met"]))
PY
