"""End-to-end: how the server serves the fan page's files, against a web dir made here.

The page itself (web/, built by `make web`) is tested in a real browser by tests/browser; these
tests pin what the server does with any build: which paths answer the page, the caching and
compression of its files, and the security headers.
"""

import gzip
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, Server

INDEX = b"<!doctype html><html><head><script type=module src=/assets/app-1a2b.js></script>"
SCRIPT = b"console.log('fan page');" * 40


class WebDirTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web_dir = tempfile.mkdtemp(prefix="boxoffice-web-")
        os.makedirs(os.path.join(cls.web_dir, "assets"))
        with open(os.path.join(cls.web_dir, "index.html"), "wb") as f:
            f.write(INDEX)
        with open(os.path.join(cls.web_dir, "favicon.svg"), "wb") as f:
            f.write(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
        script = os.path.join(cls.web_dir, "assets", "app-1a2b.js")
        with open(script, "wb") as f:
            f.write(SCRIPT)
        with open(script + ".gz", "wb") as f:
            f.write(gzip.compress(SCRIPT))
        cls.server = Server(extra_args=["--web-dir", cls.web_dir, "--demo"])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.web_dir, ignore_errors=True)

    def assert_security_headers(self, response):
        policy = response.header("content-security-policy")
        self.assertIn("default-src 'self'", policy)
        self.assertIn("script-src 'self'", policy)
        self.assertIn("frame-ancestors 'none'", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertEqual(response.header("x-content-type-options"), "nosniff")
        self.assertEqual(response.header("referrer-policy"), "no-referrer")

    def test_page_routes_answer_the_page(self):
        """/, an event, a step of buying and an order all answer index.html, revalidated."""
        for path in ["/", "/events/evt_x", "/events/evt_x/queue", "/events/evt_x/seats",
                     "/orders/ord_y"]:
            response = self.server.request("GET", path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(response.body, INDEX, path)
            self.assertEqual(response.header("content-type"), "text/html; charset=utf-8")
            self.assertEqual(response.header("cache-control"), "no-cache")
            self.assert_security_headers(response)

    def test_a_known_tag_revalidates_to_304(self):
        etag = self.server.request("GET", "/").header("etag")
        self.assertTrue(etag.startswith('"'))
        again = self.server.request("GET", "/events/evt_x", headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")

    def test_assets_are_immutable_and_compressed_when_accepted(self):
        plain = self.server.request("GET", "/assets/app-1a2b.js")
        self.assertEqual(plain.status, 200)
        self.assertEqual(plain.body, SCRIPT)
        self.assertEqual(plain.header("content-type"), "text/javascript; charset=utf-8")
        self.assertEqual(plain.header("cache-control"), "public, max-age=31536000, immutable")
        self.assertIsNone(plain.header("content-encoding"))
        self.assertEqual(plain.header("vary"), "Accept-Encoding")
        self.assert_security_headers(plain)

        compressed = self.server.request("GET", "/assets/app-1a2b.js",
                                         headers={"Accept-Encoding": "gzip, br"})
        self.assertEqual(compressed.header("content-encoding"), "gzip")  # no .br in this build
        self.assertEqual(gzip.decompress(compressed.body), SCRIPT)
        self.assertLess(len(compressed.body), len(SCRIPT))

        icon = self.server.request("GET", "/favicon.svg")
        self.assertEqual(icon.status, 200)
        self.assertEqual(icon.header("content-type"), "image/svg+xml")

    def test_the_api_keeps_its_own_answers(self):
        """Paths that are neither a page nor a file stay the API's JSON 404."""
        for path in ["/assets/missing.js", "/events", "/v1/nothing", "/assets/app-1a2b.js.gz"]:
            response = self.server.request("GET", path)
            self.assertEqual(response.status, 404, path)
            self.assertEqual(response.json()["error"]["code"], "not_found")

    def test_config_lists_the_demo_test_cards(self):
        """With the demo's gateway simulator, the page offers its test cards."""
        response = self.server.request("GET", "/v1/config")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["test_cards"],
                         ["tok_visa", "tok_declined", "tok_insufficient_funds", "tok_error"])


class NoWebDirTest(unittest.TestCase):
    def test_a_missing_web_dir_stops_the_start(self):
        """A --web-dir that is not a web build is a configuration error, not an empty site."""
        empty = tempfile.mkdtemp(prefix="boxoffice-web-empty-")
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-")
        try:
            result = subprocess.run(
                [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                 "--web-dir", empty], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("index.html", result.stderr)
        finally:
            shutil.rmtree(empty, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_config_without_a_simulator_lists_no_cards(self):
        with Server() as server:
            self.assertEqual(server.request("GET", "/v1/config").json(), {"test_cards": []})


if __name__ == "__main__":
    unittest.main()
