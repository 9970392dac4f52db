"""End-to-end: what an attacker sends to the HTTP server, over raw sockets, against the real binary.

Issue 17's campaign found these holes; each test here failed against the binary before the fix:
request smuggling through Transfer-Encoding, chunk lines buffered whole, a missing or doubled Host,
%2F decoded before routing, 431 for a long target, 405 for an unknown method, 100 Continue sent to
HTTP/1.0, OPTIONS refused, and large JSON answers never compressed. CORS is answered only for the
origins an operator lists.
"""

import gzip
import socket
import subprocess
import tempfile
import unittest

from harness import BINARY, Server, small_event


def exchange(port, data, timeout=30):
    """Sends `data` on a fresh connection and returns every byte the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def status_lines(reply):
    return [line for line in reply.split(b"\r\n") if line.startswith(b"HTTP/1.")]


class HostileHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def refused(self, data, status, code):
        reply = exchange(self.server.port, data)
        lines = status_lines(reply)
        self.assertEqual(len(lines), 1, reply[:400])
        self.assertTrue(lines[0].startswith(b"HTTP/1.1 %d" % status), reply[:400])
        self.assertIn(b'"code":"%s"' % code.encode(), reply)
        return reply

    def test_transfer_encoding_smuggling_is_refused(self):
        """A body behind a Transfer-Encoding that is not chunked is never read as a request."""
        smuggled = b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"
        for coding in (b"gzip", b"xchunked", b"chunked, gzip"):
            self.refused(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                         b"\r\nContent-Type: application/json\r\n\r\n" + smuggled,
                         400, "bad_transfer_encoding")
        self.refused(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked"
                     b"\r\n\r\n0\r\n\r\n", 501, "unsupported_transfer_coding")

    def test_chunk_extensions_and_trailers_are_bounded(self):
        """A chunk-size line or trailer past the header limit is 400, not buffered whole."""
        # Sixteen times the limit, and below the 1 MiB the server drains after a final answer,
        # so that the client reads the answer instead of a reset.
        flood = b"x" * (256 << 10)
        head = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        self.refused(head + b"5;" + flood, 400, "chunk_line_too_large")
        self.refused(head + b"2\r\n{}\r\n0\r\nX-Trailer: " + flood, 400, "chunk_line_too_large")

    def test_host_is_required_once(self):
        self.refused(b"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_host")
        self.refused(b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_host")

    def test_an_escaped_slash_does_not_route(self):
        """`/v1%2Fevents` is one segment, not the event list."""
        self.assertEqual(self.server.request("GET", "/v1%2Fevents").status, 404)
        self.assertEqual(self.server.request("GET", "/v1/events").status, 200)

    def test_long_target_is_414_and_unknown_method_501(self):
        self.refused(b"GET /v1/events?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                     414, "uri_too_long")
        response = self.server.request("BREW", "/v1/events")
        self.assertEqual(response.status, 501)
        self.assertEqual(response.json()["error"]["code"], "not_implemented")

    def test_expect_continue_from_http10_is_ignored(self):
        """An HTTP/1.0 client gets its answer, never an interim 100 it cannot know."""
        reply = exchange(self.server.port,
                         b"GET /healthz HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0"
                         b"\r\n\r\n")
        lines = status_lines(reply)
        self.assertEqual(len(lines), 1, reply)
        self.assertIn(b" 200 ", lines[0])

    def test_options_names_the_methods(self):
        response = self.server.request("OPTIONS", "/v1/events")
        self.assertEqual(response.status, 204)
        self.assertEqual(response.header("allow"), "GET, HEAD, POST, OPTIONS")
        self.assertIsNone(response.header("access-control-allow-origin"))

    def test_large_answers_are_gzipped_and_revalidate(self):
        """The seat list goes gzipped to a client that accepts it; its weak ETag still gives 304."""
        created = self.server.request("POST", "/v1/events", body=small_event(),
                                      headers=self.server.operator())
        self.assertEqual(created.status, 201, created.body)
        path = "/v1/events/%s/seats" % created.json()["id"]
        identity = self.server.request("GET", path)
        self.assertEqual(identity.status, 200)
        self.assertIsNone(identity.header("content-encoding"))
        self.assertEqual(identity.header("vary"), "Accept-Encoding")
        zipped = self.server.request("GET", path, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(zipped.header("content-encoding"), "gzip")
        self.assertLess(len(zipped.body), len(identity.body) / 4)
        self.assertEqual(gzip.decompress(zipped.body), identity.body)
        self.assertEqual(zipped.header("etag"), "W/" + identity.header("etag"))
        again = self.server.request("GET", path, headers={"Accept-Encoding": "gzip",
                                                          "If-None-Match": zipped.header("etag")})
        self.assertEqual(again.status, 304)


class CorsTest(unittest.TestCase):
    def test_only_listed_origins_get_cors_headers(self):
        origin = "https://tickets.example.com"
        with Server(extra_args=["--cors-origins", origin]) as server:
            preflight = server.request("OPTIONS", "/v1/orders", headers={
                "Origin": origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
            self.assertEqual(preflight.status, 204)
            self.assertEqual(preflight.header("access-control-allow-origin"), origin)
            self.assertIn("POST", preflight.header("access-control-allow-methods"))
            self.assertEqual(preflight.header("access-control-allow-headers"),
                             "authorization, content-type, idempotency-key")
            listed = server.request("GET", "/v1/events", headers={"Origin": origin})
            self.assertEqual(listed.header("access-control-allow-origin"), origin)
            other = server.request("GET", "/v1/events", headers={"Origin": "https://evil.example"})
            self.assertEqual(other.status, 200)
            self.assertIsNone(other.header("access-control-allow-origin"))

    def test_a_bad_origin_stops_the_start(self):
        with tempfile.TemporaryDirectory() as data_dir:
            started = subprocess.run(
                [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                 "--cors-origins", "https://tickets.example.com/"],
                capture_output=True, text=True, timeout=60, check=False)
        self.assertNotEqual(started.returncode, 0)
        self.assertIn("--cors-origins", started.stderr)


if __name__ == "__main__":
    unittest.main()
