"""End-to-end: a small on-sale played by `boxoffice onsale` against the real server, with the
card gateway simulator, and its audit (issue 15): nothing sold twice, every confirmed order in
the ledger with its tickets, nobody charged twice, admission in join order, everyone told of the
sell-out. The audit's verdict is asserted, never a time."""

import json
import os
import subprocess
import tempfile
import unittest

from gateway_sim import GatewaySim
from harness import BINARY, Server, sanitizer_report

FANS = 2_000
SEATS = 500
# A failsafe far above need (the sale takes well under a minute here); the test asserts the
# audit, not how long it took.
RUN_LIMIT_S = 600


class OnsaleTest(unittest.TestCase):
    def test_a_small_sale_sells_out_and_the_audit_holds(self):
        with tempfile.TemporaryDirectory(prefix="boxoffice-onsale-") as work, \
                GatewaySim(api_key="sk_test_onsale") as sim:
            spec = "name=sim,url=%s,key=%s" % (sim.url, sim.api_key)
            # Every simulated fan speaks from its own address through X-Forwarded-For, so the
            # defence sees a crowd, not one loopback client.
            with Server(allowlist=None,
                        extra_args=["--gateway", spec, "--trusted-proxies", "127.0.0.1/32"]) \
                    as server:
                report_path = os.path.join(work, "report.json")
                html_path = os.path.join(work, "report.html")
                run = subprocess.run(
                    [BINARY, "onsale", "--url", "http://127.0.0.1:%d" % server.port,
                     "--fans", str(FANS), "--seats", str(SEATS), "--gateway-sim", sim.url,
                     # A quicker sale than the defaults: shorter pauses, a short pre-queue and
                     # spike, and holds that abandoners leave behind come back after 30 s.
                     "--think-scale", "0.2", "--prequeue-s", "3", "--spike-s", "5",
                     "--tail-s", "10", "--hold-ttl-s", "30",
                     "--report", report_path, "--html", html_path, "--quiet"],
                    env=dict(os.environ, BOXOFFICE_ADMIN_KEY=server.admin_key),
                    capture_output=True, text=True, timeout=RUN_LIMIT_S)
                with open(report_path, encoding="utf-8") as file:
                    report = json.load(file)
                failed = [check for check in report["audit"]["checks"] if not check["passed"]]
                self.assertEqual(failed, [], run.stderr[-2000:])
                self.assertTrue(report["audit"]["passed"])
                self.assertEqual(run.returncode, 0, run.stderr[-2000:])

                summary = report["summary"]
                self.assertEqual(summary["fans"], FANS)
                self.assertEqual(summary["seats_sold"], SEATS)  # 2,000 fans for 500 seats
                self.assertIsNotNone(summary["sold_out_after_s"])
                self.assertGreater(summary["orders_confirmed"], 0)
                self.assertGreaterEqual(report["audit"]["kendall_tau"], 0.95)
                stats = server.request("GET", "/v1/events/%s/stats" % report["event_id"],
                                       headers=server.operator()).json()
                self.assertEqual(stats["inventory"]["sold"], SEATS)
                # Closed-loop admission at work: buyers gave their slots back.
                self.assertEqual(stats["queue"]["released"]["ordered"],
                                 summary["orders_confirmed"])
                with open(html_path, encoding="utf-8") as file:
                    self.assertIn("Audit passed", file.read())
                self.assertEqual(server.stop(), 0, sanitizer_report(server.stderr_lines)
                                 or "".join(server.stderr_lines[-20:]))


if __name__ == "__main__":
    unittest.main()
