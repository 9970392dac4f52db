#!/usr/bin/env bash
# Seat holds, whole server, against the seed design's peer in one run (issue 4):
#
# 1. Peer: a local PostgreSQL (Debian package, started here on a Unix socket in a temp dir) with
#    seats(seat_id, event_id, status, version, reserved_at) of 100,000 rows, and
#    `pgbench -c 32 -j 2 -T 10` of the optimistic SELECT-then-UPDATE reservation.
# 2. boxoffice: `wrk` (256 connections: a group commit fsyncs as many holds as are in flight)
#    posting holds of one random seat at version 0 over HTTP, many sessions, on a
#    100,000-seat event, journal on (every 201 is fsynced first). Target: >= 5x pgbench's tps.
# 3. Stampede: 50,000 hold attempts from concurrent clients on 1,000 seats: exactly one winner per
#    seat; time to answer all and p99 latency.
# Writes bench/results/holds.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION_S=${DURATION_S:-10}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
SESSIONS=${SESSIONS:-1000}
STAMPEDE_ATTEMPTS=${STAMPEDE_ATTEMPTS:-50000}
STAMPEDE_CLIENTS=${STAMPEDE_CLIENTS:-64}
BINARY=${BOXOFFICE_BINARY:-build/boxoffice}
RESULTS=bench/results/holds.json
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

command -v wrk >/dev/null || { echo "bench/holds.sh: wrk missing; run scripts/bootstrap" >&2; exit 1; }
[ -x "$PG_BIN/postgres" ] || { echo "bench/holds.sh: PostgreSQL missing; run scripts/bootstrap" >&2; exit 1; }

work=$(mktemp -d /tmp/boxoffice-bench-holds.XXXXXX)
chmod 755 "$work"
server_pid=""
pg_started=""
# PostgreSQL refuses to run as root; run it as the Debian package's user then.
as_pg=()
((EUID == 0)) && as_pg=(runuser -u postgres --)
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$pg_started" ] && "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. PostgreSQL peer ------------------------------------------------------------------------
mkdir -p "$work/pg" "$work/pgsock"
((EUID == 0)) && chown postgres "$work/pg" "$work/pgsock"
"${as_pg[@]}" "$PG_BIN/initdb" -D "$work/pg" -U bench --auth=trust >/dev/null
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pgsock/log" -w \
  -o "-c listen_addresses='' -k $work/pgsock -c max_connections=100" start >/dev/null
pg_started=1
psql_cmd=("${as_pg[@]}" "$PG_BIN/psql" -h "$work/pgsock" -U bench -d postgres -q -v ON_ERROR_STOP=1)
"${psql_cmd[@]}" <<'SQL'
CREATE TABLE seats (seat_id bigint PRIMARY KEY, event_id bigint, status text DEFAULT 'AVAILABLE',
                    version int DEFAULT 0, reserved_at timestamptz);
INSERT INTO seats (seat_id, event_id) SELECT g, 1 FROM generate_series(1, 100000) g;
VACUUM ANALYZE seats;
SQL
cat >"$work/reserve.sql" <<'SQL'
\set seat random(1, 100000)
SELECT coalesce(max(version), -1) AS v FROM seats WHERE seat_id = :seat AND status = 'AVAILABLE' \gset
UPDATE seats SET status='RESERVED', version=version+1, reserved_at=now() WHERE seat_id=:seat AND version=:v AND status='AVAILABLE';
SQL
chmod 644 "$work/reserve.sql"
pgbench_out=$("${as_pg[@]}" "$PG_BIN/pgbench" -h "$work/pgsock" -U bench -n -c 32 -j 2 \
  -T "$DURATION_S" -f "$work/reserve.sql" postgres 2>&1)
pg_tps=$(awk '/^tps = / {print $3; exit}' <<<"$pgbench_out")
pg_latency_ms=$(awk '/^latency average = / {print $4; exit}' <<<"$pgbench_out")
pg_reserved=$("${psql_cmd[@]}" -tA -c "SELECT count(*) FROM seats WHERE status = 'RESERVED'")
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null
pg_started=""

# --- 2. boxoffice over HTTP -----------------------------------------------------------------------
admin_key=bench-admin-key
# wrk is one loopback address standing in for thousands of fans, so loopback skips the rate
# limits (docs/defense.md); the defence's own cost is measured in src/defense/.
BOXOFFICE_ADMIN_KEY=$admin_key start_server --log-level warn --defense-allowlist 127.0.0.1/32

python3 - "$base" "$admin_key" "$SESSIONS" "$work" <<'PY'
import json, sys, urllib.request
base, key, sessions, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def post(path, body, headers=None):
    request = urllib.request.Request(base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **(headers or {})})
    return json.load(urllib.request.urlopen(request))
admin = {"Authorization": "Bearer " + key}
def event(name, rows, seats):
    return post("/v1/events", {
        "name": name, "price_tiers": [{"id": "A", "price_cents": 5000}],
        "sections": [{"id": "S", "tier": "A",
                      "rows": [{"label": "R%d" % r, "seats": seats} for r in range(rows)]}],
        "limits": {"per_order": 8, "per_customer": 100}, "hold_ttl_s": 3600}, admin)["id"]
big = event("Bench 100k", 50, 2000)
stampede = event("Stampede 1k", 10, 100)
tokens = [post("/v1/sessions", {})["session_token"] for _ in range(sessions)]
with open(work + "/ids.json", "w") as out:
    json.dump({"big": big, "stampede": stampede, "tokens": tokens}, out)
lua = ["tokens = {" + ",".join('"%s"' % t for t in tokens) + "}",
       'path = "/v1/events/%s/holds"' % big,
       """
-- wrk seeds every thread's generator alike; without this both threads ask for the same seats.
counter = 0
setup = function(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
init = function(args)
  math.randomseed(7919 * (thread_id or 0) + 1)
end
request = function()
  local row = math.random(0, 49)
  local seat = math.random(1, 2000)
  local body = '{"seats":[{"id":"S-R' .. row .. '-' .. seat .. '","version":0}]}'
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)]
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, headers, body)
end
statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
"""]
with open(work + "/hold.lua", "w") as out:
    out.write("\n".join(lua))
PY
big_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["big"])' "$work/ids.json")
wrk_out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency -s "$work/hold.lua" \
  "$base")
box_rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$wrk_out")
box_p99=$(wrk_p99_ms <<<"$wrk_out")
box_held=$(curl -sf "$base/v1/events/$big_id/stats" -H "Authorization: Bearer $admin_key" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["inventory"]["held"])')

# --- 3. Stampede ----------------------------------------------------------------------------------
python3 - "$base" "$work" "$STAMPEDE_ATTEMPTS" "$STAMPEDE_CLIENTS" "$admin_key" >"$work/stampede.json" <<'PY'
import http.client, json, random, sys, threading, time, urllib.parse
base, work, attempts, clients, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ids = json.load(open(work + "/ids.json"))
url = urllib.parse.urlparse(base)
path = "/v1/events/%s/holds" % ids["stampede"]
seats = ["S-R%d-%d" % (r, n) for r in range(10) for n in range(1, 101)]
wins, latencies, errors, lock = {}, [], [], threading.Lock()
barrier = threading.Barrier(clients)
def client(index):
    rng = random.Random(index)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    token = ids["tokens"][index % len(ids["tokens"])]
    mine = []
    barrier.wait()
    for _ in range(attempts // clients):
        seat = rng.choice(seats)
        body = json.dumps({"seats": [{"id": seat, "version": 0}]})
        started = time.perf_counter()
        connection.request("POST", path, body, {"Authorization": "Bearer " + token,
                                                "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        mine.append(time.perf_counter() - started)
        with lock:
            if response.status == 201:
                wins[seat] = wins.get(seat, 0) + 1
            elif response.status not in (409, 422):
                errors.append(response.status)
    with lock:
        latencies.extend(mine)
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
started = time.perf_counter()
for thread in threads: thread.start()
for thread in threads: thread.join()
elapsed = time.perf_counter() - started
latencies.sort()
connection = http.client.HTTPConnection(url.hostname, url.port)
connection.request("GET", "/v1/events/%s/seats" % ids["stampede"])
held = sum(1 for s in json.loads(connection.getresponse().read())["seats"] if s["status"] == "held")
print(json.dumps({
    "attempts": len(latencies), "clients": clients, "seats": len(seats),
    "winners": sum(wins.values()), "seats_won": len(wins),
    "max_winners_per_seat": max(wins.values()) if wins else 0,
    "seats_held_in_map": held, "unexpected_statuses": len(errors),
    "exactly_one_winner_per_seat": all(v == 1 for v in wins.values()) and held == len(wins),
    "time_to_answer_all_s": round(elapsed, 3),
    "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
}))
PY
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

mkdir -p bench/results
python3 - "$RESULTS" "$work/stampede.json" <<PY
import json, os, sys, datetime
pg = float("$pg_tps")
box = float("$box_rps")
result = {
  "benchmark": "holds", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "machine": {"cores": os.cpu_count()},
  "pgbench_peer": {"clients": 32, "threads": 2, "duration_s": $DURATION_S, "tps": pg,
                   "latency_avg_ms": float("${pg_latency_ms:-0}"), "seats_reserved": int("$pg_reserved")},
  "boxoffice_http_holds": {"wrk_threads": $THREADS, "connections": $CONNECTIONS,
                           "duration_s": $DURATION_S, "sessions": $SESSIONS,
                           "requests_per_s": box, "latency_p99_ms": float("${box_p99:-0}"),
                           "seats_held": int("$box_held"), "journal": "sqlite, synchronous=FULL",
                           "ratio_to_pgbench": round(box / pg, 2) if pg else None},
  "stampede": json.load(open(sys.argv[2])),
  "target": "boxoffice >= 5x pgbench tps; exactly one winner per seat",
}
with open(sys.argv[1], "w") as out:
    json.dump(result, out, indent=2)
    out.write("\n")
print(json.dumps(result, indent=2))
PY
