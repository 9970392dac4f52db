#!/usr/bin/env python3
"""Two builds of boxoffice, both running at once, measured in turns.

    bench/interleaved.py BASELINE_BINARY [CANDIDATE_BINARY] [--rounds N] [--seconds S]

bench/compare.sh runs whole benchmark scripts one build after the other, minutes apart, and on a
shared machine the weather moves more than the builds differ. Here both servers are up together
with the same data (an event with a paused queue and FANS waiting fans each), and short wrk runs
alternate between them (baseline, candidate, candidate, baseline) for every measure in turn:
status polls and joins (bench/queue.lua), GET /healthz and GET /v1/events/{id}. The figure of
each side is its median; the ratio is candidate / baseline. Writes
bench/results/interleaved.json.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

FANS = 2000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "interleaved.json")


class Server:
    def __init__(self, binary, work):
        self.work = work
        self.data_dir = os.path.join(work, "data")
        env = dict(os.environ, BOXOFFICE_ADMIN_KEY="bench-admin-key")
        # wrk is one loopback address standing in for thousands of fans (see bench/queue.sh).
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
             "--log-level", "warn", "--defense-allowlist", "127.0.0.1/32"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        for line in self.process.stdout:
            match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
            if match:
                self.url, self.port = match.group(1), int(match.group(2))
                break
        else:
            sys.exit(f"interleaved.py: {binary} did not start")
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.event_id = self.call("POST", "/v1/events", {
            "name": "Bench", "price_tiers": [{"id": "A", "price_cents": 5000}],
            "sections": [{"id": "101", "tier": "A", "rows": [{"label": "A", "seats": 20}]}],
            "queue": {"enabled": True, "paused": True}},
            {"Authorization": "Bearer bench-admin-key"})["id"]
        lines = []
        for _ in range(FANS):
            token = self.call("POST", "/v1/sessions", {})["session_token"]
            ticket = self.call("POST", f"/v1/events/{self.event_id}/queue", None,
                               {"Authorization": "Bearer " + token})["queue_ticket"]
            lines.append(f"{token} {ticket}")
        self.fans_file = os.path.join(work, "fans.txt")
        with open(self.fans_file, "w") as out:
            out.write("\n".join(lines) + "\n")

    def call(self, method, path, body=None, headers=None):
        all_headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=payload, headers=all_headers)
        response = self.connection.getresponse()
        return json.loads(response.read() or b"null")

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def wrk(server, measure, seconds):
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s"]
    if measure in ("status", "join"):
        command += ["-s", os.path.join(ROOT, "bench", "queue.lua"), server.url, "--", measure,
                    server.event_id]
    elif measure == "healthz":
        command.append(server.url + "/healthz")
    else:
        command.append(f"{server.url}/v1/events/{server.event_id}")
    out = subprocess.run(command, env=dict(os.environ, FANS_FILE=server.fans_file),
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"interleaved.py: {measure} answered {errors.group(1)} non-2xx responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline")
    parser.add_argument("candidate", nargs="?", default=os.path.join(ROOT, "build", "boxoffice"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args()
    sides = {"baseline": args.baseline, "candidate": args.candidate}
    servers = {}
    try:
        for side, binary in sides.items():
            servers[side] = Server(binary, tempfile.mkdtemp(prefix=f"boxoffice-bench-{side}-"))
        result = {"benchmark": "interleaved",
                  "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "machine": {"cores": os.cpu_count()},
                  "method": "both servers up at once; wrk -t2 -c50 runs of "
                            f"{args.seconds} s alternate baseline, candidate, candidate, baseline "
                            f"for {args.rounds} rounds per measure; medians",
                  "baseline": args.baseline, "candidate": args.candidate, "fans": FANS}
        for measure in ("status", "join", "healthz", "get_event"):
            runs = {"baseline": [], "candidate": []}
            for _ in range(args.rounds):
                for side in ("baseline", "candidate", "candidate", "baseline"):
                    runs[side].append(wrk(servers[side], measure, args.seconds))
            medians = {side: statistics.median(values) for side, values in runs.items()}
            result[measure] = {"baseline_per_s": medians["baseline"],
                               "candidate_per_s": medians["candidate"],
                               "ratio": round(medians["candidate"] / medians["baseline"], 3),
                               "runs": runs}
            print(f"{measure:10} baseline {medians['baseline']:>9.0f}/s candidate "
                  f"{medians['candidate']:>9.0f}/s ratio {result[measure]['ratio']}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as out:
        json.dump(result, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main()
