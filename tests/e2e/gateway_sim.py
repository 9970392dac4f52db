"""Starts `boxoffice gateway-sim` (the real binary) on port 0 and talks Stripe's form API to it.

End-to-end tests of payments start one or more of these and point `boxoffice serve --gateway`
at their `url`; `intents()` reads the simulator's records to prove nobody was charged twice.
"""

import http.client
import json
import re
import subprocess
import threading
import time
import urllib.parse

from harness import BINARY, Response, sanitizer_report

START_TIMEOUT_S = 30


class GatewaySim:
    """A running `boxoffice gateway-sim`; use as a context manager or call stop()."""

    def __init__(self, api_key="sk_test_e2e", extra_args=()):
        self.api_key = api_key
        self.process = subprocess.Popen(
            [BINARY, "gateway-sim", "--listen", "127.0.0.1:0", "--api-key", api_key,
             *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_lines = []
        self._stderr = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr.start()
        self.port = self._wait_for_port()
        self.url = "http://127.0.0.1:%d" % self.port

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def _wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("gateway-sim exited early: " + "".join(self.stderr_lines))
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))
        raise RuntimeError("gateway-sim did not report its port in time")

    def request(self, method, path, form=None, idempotency_key=None, api_key=None, timeout=30):
        """Sends `form` (a list of pairs or a dict) form-encoded, as Stripe's clients do."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": "Bearer " + (api_key or self.api_key)}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                            response.read())
        finally:
            connection.close()

    def authorize(self, key, amount=1000, token="tok_visa", **kwargs):
        # A card token goes in payment_method_data, as Stripe documents; a pm_... as itself.
        card = ([("payment_method", token)] if token.startswith("pm_") else
                [("payment_method_data[type]", "card"), ("payment_method_data[card][token]", token)])
        form = [("amount", str(amount)), ("currency", "usd")] + card + [
                ("confirm", "true"), ("capture_method", "manual"),
                ("metadata[idempotency_key]", key)]
        return self.request("POST", "/v1/payment_intents", form, idempotency_key=key, **kwargs)

    def intents(self):
        """The simulator's records: every payment intent with its create attempts."""
        return json.loads(self.request("GET", "/_sim/payment_intents").body)

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.join(timeout=5)
        for pipe in (self.process.stdout, self.process.stderr):
            if not pipe.closed:
                pipe.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        report = sanitizer_report(self.stderr_lines)
        if report:
            raise AssertionError("boxoffice gateway-sim reported under a sanitizer:\n" + report)
