"""End-to-end: direct TLS (`--tls-cert`, `--tls-key`) on the real binary, with a certificate made
by Debian's openssl for the test. The API answers over HTTPS with HSTS, keeps connections alive,
refuses plain HTTP and handshakes that never finish, and a key that does not belong to its
certificate stops the start (docs/security.md, "TLS")."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import BINARY, Server


def make_certificate(folder, name):
    """A self-signed P-256 certificate for 127.0.0.1: (certificate file, key file)."""
    cert = os.path.join(folder, name + ".crt")
    key = os.path.join(folder, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def metric(text, name):
    match = re.search(r"^%s (\S+)$" % re.escape(name), text, re.MULTILINE)
    return float(match.group(1)) if match else None


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="boxoffice-e2e-tls-")
        cls.cert, cls.key = make_certificate(cls.folder, "server")
        cls.client = ssl.create_default_context(cafile=cls.cert)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, True)

    def start(self, *args):
        server = Server(extra_args=["--tls-cert", self.cert, "--tls-key", self.key, *args],
                        tls_context=self.client)
        self.addCleanup(server.cleanup)
        return server

    def test_the_api_answers_over_https_with_hsts_on_one_kept_alive_connection(self):
        server = self.start()
        self.assertEqual(server.scheme, "https")
        connection = server.connect()
        self.addCleanup(connection.close)
        for _ in range(3):
            connection.request("POST", "/v1/sessions", body=b"{}",
                               headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            body = answer.read()
            self.assertEqual(answer.status, 201, body)
            self.assertEqual(answer.getheader("Strict-Transport-Security"), "max-age=31536000")
        self.assertEqual(connection.sock.version() in ("TLSv1.2", "TLSv1.3"), True)

    def test_hsts_follows_its_flag_and_plain_http_has_none(self):
        server = self.start("--hsts-max-age-s", "0")
        answer = server.request("GET", "/healthz")
        self.assertEqual(answer.status, 200)
        self.assertIsNone(answer.header("strict-transport-security"))
        server.stop()
        plain = Server()
        self.addCleanup(plain.cleanup)
        answer = plain.request("GET", "/healthz")
        self.assertEqual(answer.status, 200)
        self.assertIsNone(answer.header("strict-transport-security"))

    def test_plain_http_and_a_silent_client_are_dropped_and_counted(self):
        server = self.start("--read-timeout-s", "1")
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as plain:
            plain.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            # No HTTP answer comes back in clear: the handshake fails and the server closes.
            received = b""
            try:
                while chunk := plain.recv(4096):
                    received += chunk
            except ConnectionResetError:
                pass
            self.assertNotIn(b"HTTP/1.1", received)
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as silent:
            # Says nothing: the read timeout ends the handshake it never starts.
            try:
                self.assertEqual(silent.recv(1), b"")
            except ConnectionResetError:
                pass
        metrics = server.request("GET", "/metrics")
        self.assertEqual(metrics.status, 200)
        failures = metric(metrics.body.decode(), "boxoffice_http_tls_handshake_failures_total")
        self.assertGreaterEqual(failures, 2)

    def test_a_key_of_another_certificate_or_half_a_pair_stops_the_start(self):
        _, other_key = make_certificate(self.folder, "other")
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-tls-data-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        env = {**os.environ, "BOXOFFICE_ADMIN_KEY": "k"}
        for args, reason in ((["--tls-cert", self.cert, "--tls-key", other_key],
                              "TLS private key " + other_key),
                             (["--tls-cert", self.cert], "go together")):
            run = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                  data_dir, *args], capture_output=True, text=True, timeout=60,
                                 env=env)
            self.assertNotEqual(run.returncode, 0, run.stdout)
            self.assertIn(reason, run.stderr + run.stdout)
            self.assertNotIn("listening on", run.stdout)


if __name__ == "__main__":
    unittest.main()
