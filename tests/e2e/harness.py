"""Starts the real boxoffice binary on port 0 with a temporary data dir, and talks HTTP to it.

Every end-to-end test goes through this: no mocks, the binary under test is the one CMake built
(BOXOFFICE_BINARY), and each server gets a fresh data dir unless a test passes one to restart.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

BINARY = os.environ.get("BOXOFFICE_BINARY", os.path.join(os.path.dirname(__file__),
                                                          "../../build/boxoffice"))
ADMIN_KEY = "test-admin-key-0123456789"
START_TIMEOUT_S = 30
# Lines with which AddressSanitizer, LeakSanitizer, UBSan and ThreadSanitizer begin a report.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")
SANITIZER_REPORT_LINES = 80
# How long wait_for waits for something to happen: long enough for a sanitizer build on a busy
# machine, so that only something that never happens reaches it.
WAIT_TIMEOUT_S = 60
WAIT_POLL_S = 0.02


def wait_for(condition, what, timeout_s=WAIT_TIMEOUT_S):
    """Calls `condition` until it returns something truthy, and returns that; fails the test
    with `what` (what was waited for) if it never does. Tests wait on events this way, never on
    a sleep of a guessed length."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("waited %d s in vain for %s" % (timeout_s, what))
        time.sleep(WAIT_POLL_S)


def sanitizer_report(lines):
    """A sanitizer's report in a process's stderr lines, from its first line; None if none.

    Under `make test-asan` a report at shutdown would otherwise pass unseen: most tests do not
    look at the exit code, and those that do show only the end of stderr.
    """
    for i, line in enumerate(lines):
        if any(marker in line for marker in SANITIZER_MARKERS):
            return "".join(lines[i:i + SANITIZER_REPORT_LINES])
    return None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


class Server:
    """A running `boxoffice serve`; use as a context manager or call stop()."""

    def __init__(self, data_dir=None, extra_args=(), env=None, admin_key=ADMIN_KEY,
                 log_level="warn", allowlist="127.0.0.0/8,::1", tls_context=None, port=0):
        """`tls_context`: the ssl.SSLContext requests use when the server speaks HTTPS
        (--tls-cert). `port`: 0 for a free one; a restart passes the port of the server it
        replaces, so that clients find it where they left it."""
        self.tls_context = tls_context
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="boxoffice-e2e-")
        process_env = dict(os.environ)
        process_env.pop("BOXOFFICE_ADMIN_KEY", None)
        if admin_key is not None:
            process_env["BOXOFFICE_ADMIN_KEY"] = admin_key
        process_env.update(env or {})
        self.admin_key = admin_key
        self.stdout_lines = []
        # Tests drive many fans from loopback; the defence test passes allowlist=None to see the
        # rate limits a real client address would meet.
        if allowlist:
            extra_args = ["--defense-allowlist", allowlist, *extra_args]
        self.process = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir", self.data_dir,
             "--log-level", log_level, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=process_env, text=True)
        self.stderr_lines = []
        self.drainers = [threading.Thread(target=self._drain_stderr, daemon=True)]
        self.drainers[0].start()
        self.port = self._wait_for_port()
        self.drainers.append(threading.Thread(target=self._drain_stdout, daemon=True))
        self.drainers[1].start()

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def _drain_stdout(self):
        for line in self.process.stdout:
            self.stdout_lines.append(line)

    def _wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("boxoffice exited early: " + "".join(self.stderr_lines))
            self.stdout_lines.append(line)
            match = re.search(r"listening on (https?)://127\.0\.0\.1:(\d+)", line)
            if match:
                self.scheme = match.group(1)
                return int(match.group(2))
        raise RuntimeError("boxoffice did not report its port in time")

    def request(self, method, path, body=None, headers=None, raw_body=None, timeout=30):
        connection = self.connect(timeout)
        all_headers = dict(headers or {})
        payload = raw_body
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        result = Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read())
        connection.close()
        return result

    def connect(self, timeout=30):
        """A new connection to the server, over TLS when it speaks HTTPS."""
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def operator(self):
        return {"Authorization": "Bearer " + self.admin_key}

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for drainer in self.drainers:
            drainer.join(timeout=5)
        for pipe in (self.process.stdout, self.process.stderr):
            if not pipe.closed:
                pipe.close()
        return self.process.returncode

    def cleanup(self):
        self.stop()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        report = sanitizer_report(self.stderr_lines)
        if report:
            raise AssertionError("boxoffice serve reported under a sanitizer:\n" + report)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


class Stream:
    """One server-sent events stream, read with http.client (which undoes the chunked coding)
    line by line."""

    def __init__(self, port, path, headers, timeout=15):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.comments = 0

    def header(self, name):
        return self.response.getheader(name)

    def next_event(self):
        """The next event's data as JSON; None once the stream has ended."""
        data = []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if data:
                    return json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)

    def close(self):
        self.connection.close()


def small_event(**overrides):
    """A 35-seat event in the shape of API.md's example."""
    event = {
        "name": "Night 1", "starts_at": "2027-05-01T19:00:00Z", "currency": "USD",
        "price_tiers": [{"id": "A", "name": "Floor", "price_cents": 25000},
                        {"id": "B", "name": "Balcony", "price_cents": 9000}],
        "sections": [{"id": "101", "name": "Section 101", "tier": "A",
                      "rows": [{"label": "A", "seats": 20, "accessible": [1, 2]},
                               {"label": "B", "seats": 10}]},
                     {"id": "201", "name": "Section 201", "tier": "B",
                      "rows": [{"label": "A", "seats": 5}]}],
        "limits": {"per_order": 8, "per_customer": 8},
        "hold_ttl_s": 600,
        "queue": {"enabled": True, "policy": "fifo", "admission_rate_per_s": 100,
                  "max_active": 5000, "access_ttl_s": 600},
        "defense": {"challenge": "risk"},
    }
    event.update(overrides)
    return event
