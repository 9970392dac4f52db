#!/usr/bin/env bash
# The bot defence's cost over the whole server (issue 6): the same load with the defence on and
# off, in one run. Target: on >= 0.9x the requests/s of off.
#
# The load is what the defence sees during an on-sale: wrk sends GET /v1/events/{id} with a
# session token from a pool of 20,000 and browser headers, each request from its own client
# address (loopback is a trusted proxy and X-Forwarded-For names a random 10.x.y.z), so every
# request pays the blocklist scan, five rate-limit keys (address, /24, session, ...) in a table
# of 20,000+ live keys, and the risk tracker's timing update.
#   on:  the defaults (rate limits, blocklist, risk tracking).
#   off: --no-rate-limits and every address allowlisted (which also skips the risk score).
# Writes bench/results/defense.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION_S=${DURATION_S:-10}
CONNECTIONS=${CONNECTIONS:-100}
THREADS=${THREADS:-2}
SESSIONS=${SESSIONS:-20000}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=bench/results/defense.json

command -v wrk >/dev/null || { echo "bench/defense.sh: wrk missing; run scripts/bootstrap" >&2; exit 1; }

work=$(mktemp -d /tmp/boxoffice-bench-defense.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

admin_key=bench-admin-key
start_defense_server() {  # extra flags...
  BOXOFFICE_ADMIN_KEY=$admin_key BOXOFFICE_TRUSTED_PROXIES=127.0.0.1/32 \
    start_server --log-level warn "$@"
}

# Sessions are made once, with the defence off, and stay valid across the restart (same secret).
off_flags=(--no-rate-limits --defense-allowlist 0.0.0.0/0,::/0)
start_defense_server "${off_flags[@]}"
python3 - "$base" "$admin_key" "$SESSIONS" "$work" <<'PY'
import http.client, json, sys, urllib.parse
base, key, sessions, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = urllib.parse.urlparse(base)
connection = http.client.HTTPConnection(url.hostname, url.port)
def post(path, body, headers=None):
    connection.request("POST", path, json.dumps(body),
                       {"Content-Type": "application/json", **(headers or {})})
    return json.loads(connection.getresponse().read())
event = post("/v1/events", {"name": "Bench", "price_tiers": [{"id": "A", "price_cents": 5000}],
                            "sections": [{"id": "101", "tier": "A",
                                          "rows": [{"label": "A", "seats": 20}]}]},
             {"Authorization": "Bearer " + key})["id"]
tokens = [post("/v1/sessions", {})["session_token"] for _ in range(sessions)]
lua = ["tokens = {" + ",".join('"%s"' % t for t in tokens) + "}",
       'path = "/v1/events/%s"' % event,
       """
counter = 0
setup = function(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
init = function(args)
  math.randomseed(7919 * (thread_id or 0) + 1)
end
request = function()
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]
  headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." ..
    math.random(1, 254)
  headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"
  headers["Accept-Language"] = "en-GB,en;q=0.9"
  headers["Sec-CH-UA"] = '"Google Chrome";v="119", "Chromium";v="119", "Not?A_Brand";v="24"'
  headers["Sec-CH-UA-Mobile"] = "?0"
  headers["Sec-CH-UA-Platform"] = '"Linux"'
  return wrk.format("GET", path, headers)
end
"""]
with open(work + "/read.lua", "w") as out:
    out.write("\n".join(lua))
PY
stop_server

# Runs wrk and prints "requests_per_s latency_p99_ms non_2xx".
measure() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency -s "$work/read.lua" "$base")
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(wrk_p99_ms <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  echo "$rps ${p99:-0} ${errors:-0}"
}

start_defense_server "${off_flags[@]}"
read -r off_rps off_p99 off_errors <<<"$(measure)"
stop_server
start_defense_server
read -r on_rps on_p99 on_errors <<<"$(measure)"
curl -sf "$base/metrics" | grep '^boxoffice_defense_decisions_total' >"$work/decisions.txt" || true
stop_server

mkdir -p bench/results
python3 - "$RESULTS" "$work/decisions.txt" <<PY
import datetime, json, os, sys
on, off = float("$on_rps"), float("$off_rps")
decisions = {}
for line in open(sys.argv[2]):
    labels, value = line.rsplit(" ", 1)
    if float(value) > 0:  # only the decisions this load produced
        decisions[labels[labels.index("{"):]] = float(value)
result = {
    "benchmark": "defense", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"cores": os.cpu_count()},
    "load": {"wrk_threads": $THREADS, "connections": $CONNECTIONS, "duration_s": $DURATION_S,
             "sessions": $SESSIONS, "route": "GET /v1/events/{id}",
             "client_addresses": "random 10.x.y.z per request via X-Forwarded-For"},
    "defense_off": {"requests_per_s": off, "latency_p99_ms": float("$off_p99"),
                    "non_2xx": int("$off_errors")},
    "defense_on": {"requests_per_s": on, "latency_p99_ms": float("$on_p99"),
                   "non_2xx": int("$on_errors"), "decisions": decisions},
    "ratio_on_to_off": round(on / off, 3) if off else None,
    "target": "defense on >= 0.9x defense off",
}
with open(sys.argv[1], "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
print(json.dumps(result, indent=2))
PY
