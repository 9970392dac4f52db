"""End-to-end: rate limits and the operator block and allow lists, against the real binary."""

import shutil
import tempfile
import unittest

from harness import Server

PROXY_ENV = {"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.0/8"}


class DefenseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Loopback is a trusted proxy here, so X-Forwarded-For stands in for distinct fans.
        cls.server = Server(allowlist=None, env=PROXY_ENV)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def session_from(self, address):
        return self.server.request("POST", "/v1/sessions", body={},
                                   headers={"X-Forwarded-For": address})

    def test_burst_from_one_address_is_limited_another_is_not(self):
        """Hundreds of sessions from one address hit 429 with Retry-After; another address passes."""
        statuses = [self.session_from("198.51.100.7").status for _ in range(200)]
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.count(201), 25)
        limited = self.session_from("198.51.100.7")
        self.assertEqual(limited.status, 429)
        self.assertEqual(limited.json()["error"]["code"], "rate_limited")
        self.assertGreaterEqual(int(limited.header("retry-after")), 1)
        self.assertEqual(self.session_from("203.0.113.50").status, 201)
        metrics = self.server.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'boxoffice_defense_decisions_total\{route_class="session_create",'
                                  r'decision="rate_limited"\} [1-9]')

    def test_operator_blocklist(self):
        """A blocked range gets 403 `blocked` at once; removing the entry lets it back in."""
        operator = self.server.operator()
        created = self.server.request("POST", "/v1/defense/blocklist", headers=operator,
                                      body={"cidr": "192.0.2.0/24", "reason": "scalper farm",
                                            "ttl_s": 3600})
        self.assertEqual(created.status, 201, created.body)
        self.assertEqual(created.json()["cidr"], "192.0.2.0/24")
        self.assertIsNotNone(created.json()["expires_at"])
        blocked = self.server.request("GET", "/v1/events", headers={"X-Forwarded-For": "192.0.2.9"})
        self.assertEqual(blocked.status, 403)
        self.assertEqual(blocked.json()["error"]["code"], "blocked")
        listed = self.server.request("GET", "/v1/defense/blocklist", headers=operator).json()
        self.assertIn("192.0.2.0/24", [item["cidr"] for item in listed["items"]])
        self.assertEqual(self.server.request("GET", "/v1/defense/blocklist").status, 401)
        removed = self.server.request("DELETE", "/v1/defense/blocklist?cidr=192.0.2.0/24",
                                      headers=operator)
        self.assertEqual(removed.status, 204)
        self.assertEqual(self.server.request("GET", "/v1/events",
                                             headers={"X-Forwarded-For": "192.0.2.9"}).status, 200)
        bad = self.server.request("POST", "/v1/defense/blocklist", headers=operator,
                                  body={"cidr": "not-a-range"})
        self.assertEqual(bad.status, 422)

    def test_runtime_allowlist_survives_restart(self):
        """An allowlisted range skips the rate limits, across a restart, until it is removed."""
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-allow-")
        self.addCleanup(shutil.rmtree, data_dir, True)

        def burst(server, address, count=60):
            return [server.request("POST", "/v1/sessions", body={},
                                   headers={"X-Forwarded-For": address}).status
                    for _ in range(count)]

        with Server(data_dir=data_dir, allowlist="10.9.9.9", env=PROXY_ENV) as server:
            operator = server.operator()
            self.assertIn(429, burst(server, "198.18.0.1"))
            created = server.request("POST", "/v1/defense/allowlist", headers=operator,
                                     body={"cidr": "198.18.1.7/24", "reason": "load test"})
            self.assertEqual(created.status, 201, created.body)
            self.assertEqual(created.json()["cidr"], "198.18.1.0/24")
            self.assertIsNone(created.json()["expires_at"])
            self.assertNotIn(429, burst(server, "198.18.1.1"))
            self.assertEqual(server.request("GET", "/v1/defense/allowlist").status, 401)
            bad = server.request("POST", "/v1/defense/allowlist", headers=operator,
                                 body={"cidr": "198.18.1.0/24", "ttl_s": 0})
            self.assertEqual(bad.status, 422)
            self.assertEqual(bad.json()["error"]["code"], "invalid_allow")

        with Server(data_dir=data_dir, allowlist="10.9.9.9", env=PROXY_ENV) as server:
            operator = server.operator()
            listed = server.request("GET", "/v1/defense/allowlist", headers=operator).json()
            self.assertEqual({(item["cidr"], item["source"]) for item in listed["items"]},
                             {("10.9.9.9/32", "static"), ("198.18.1.0/24", "runtime")})
            self.assertNotIn(429, burst(server, "198.18.1.2"))
            removed = server.request("DELETE", "/v1/defense/allowlist?cidr=198.18.1.0/24",
                                     headers=operator)
            self.assertEqual(removed.status, 204)
            again = server.request("DELETE", "/v1/defense/allowlist?cidr=198.18.1.0/24",
                                   headers=operator)
            self.assertEqual(again.status, 404)
            self.assertEqual(again.json()["error"]["code"], "allow_not_found")
            self.assertIn(429, burst(server, "198.18.1.3"))


if __name__ == "__main__":
    unittest.main()
