"""End-to-end: rate limits and the operator blocklist, against the real binary."""

import unittest

from harness import Server


class DefenseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Loopback is a trusted proxy here, so X-Forwarded-For stands in for distinct fans.
        cls.server = Server(allowlist=None, env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.0/8"})

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


if __name__ == "__main__":
    unittest.main()
