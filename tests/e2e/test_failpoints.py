"""End-to-end: a crash at every failpoint (src/common/failpoint.hpp) loses nothing (issue 22).

For each point on the on-sale's path, a small on-sale is played by `boxoffice onsale` against the
real server and the card gateway simulator; the server runs with that point armed, crashes there
(SIGKILL, as `kill -9`, at a hit chosen to fall mid-sale), and is started again on the same data
dir and port, without failpoints. The fans carry on across the outage with their idempotency
keys, and the on-sale's audit must pass: no seat sold twice, every order confirmed to a fan in
the ledger with its seats and tickets, no payment authorized or captured twice, no authorization
left without an order (recovery voids it), admission in join order. The refund and the queue's
sequence blocks are off the fans' path, and have a scenario each.

Failpoints are compiled into the sanitizer builds only (BOXOFFICE_BUILD_FAILPOINTS, set by CMake),
so the release pass skips this file and `make test-asan` runs it. The test never assumes a
duration: it waits for the crash, the restart and the run's end.
"""

import json
import os
import signal
import subprocess
import tempfile
import unittest
import uuid

from gateway_sim import GatewaySim
from harness import BINARY, Server, sanitizer_report, small_event, wait_for

HAS_FAILPOINTS = os.environ.get("BOXOFFICE_BUILD_FAILPOINTS", "0") not in ("", "0", "OFF")
FANS = 40
SEATS = 300  # more than 40 fans can buy: the sale ends with every fan done, not sold out
RUN_LIMIT_S = 600

# The points on the fans' path and the hit to crash at: far enough in that the on-sale has its
# event and is selling, early enough that fans are still arriving (each fan makes one hold, one
# payment attempt and one order; the ledger commits a few times per fan). "+200ms" holds the
# thread that hit the point for that long before the crash while the others run on, as a slow
# fsync would: an answer sent before its write was durable gets out then, and the audit finds
# what it promised missing.
ON_THE_FANS_PATH = [
    ("ledger.commit.before", "25"),
    ("ledger.commit.before_order", "4+200ms"),
    ("ledger.commit.after", "25"),
    ("hold.journaled", "6"),
    ("order.payment_begun", "5"),
    ("order.authorized", "5"),
    ("order.confirmed", "5"),
    ("outbox.captured", "4"),
]


def crashed_there(server, point):
    """Whether the server died by the failpoint's SIGKILL, having named the point."""
    return (server.process.poll() == -signal.SIGKILL and
            any("failpoint %s: crashing" % point in line for line in server.stderr_lines))


@unittest.skipUnless(HAS_FAILPOINTS, "this build has no failpoints (the sanitizer builds do)")
class FailpointsTest(unittest.TestCase):
    def test_an_on_sale_survives_a_crash_at_every_point_on_the_fans_path(self):
        # BOXOFFICE_FAILPOINTS_ONLY=name[,name...] runs those points alone, to chase one.
        only = [name for name in os.environ.get("BOXOFFICE_FAILPOINTS_ONLY", "").split(",") if name]
        for point, hit in ON_THE_FANS_PATH:
            if only and point not in only:
                continue
            with self.subTest(point=point, hit=hit):
                self.run_sale_crashing_at(point, hit)

    def run_sale_crashing_at(self, point, hit):
        with tempfile.TemporaryDirectory(prefix="boxoffice-failpoint-") as work, \
                GatewaySim(api_key="sk_test_failpoints") as sim:
            data_dir = os.path.join(work, "data")
            args = ["--gateway", "name=sim,url=%s,key=%s" % (sim.url, sim.api_key),
                    "--trusted-proxies", "127.0.0.1/32"]
            armed = Server(data_dir=data_dir, allowlist=None, extra_args=args,
                           env={"BOXOFFICE_FAILPOINTS": "%s:crash@%s" % (point, hit)})
            report_path = os.path.join(work, "report.json")
            onsale = subprocess.Popen(
                [BINARY, "onsale", "--url", "http://127.0.0.1:%d" % armed.port,
                 "--fans", str(FANS), "--seats", str(SEATS), "--gateway-sim", sim.url,
                 "--think-scale", "0.1", "--prequeue-s", "1", "--spike-s", "2", "--tail-s", "4",
                 "--hold-ttl-s", "30", "--decline-share", "0.1", "--report", report_path,
                 "--quiet"],
                env=dict(os.environ, BOXOFFICE_ADMIN_KEY=armed.admin_key),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                wait_for(lambda: armed.process.poll() is not None or onsale.poll() is not None,
                         "the server to crash at %s" % point, timeout_s=RUN_LIMIT_S)
                self.assertTrue(crashed_there(armed, point),
                                "the server did not crash at %s (exit %s): %s" % (
                                    point, armed.process.poll(),
                                    "".join(armed.stderr_lines[-20:])))
                armed.stop()
                with Server(data_dir=data_dir, allowlist=None, extra_args=args,
                            port=armed.port) as restarted:
                    _, errors = onsale.communicate(timeout=RUN_LIMIT_S)
                    with open(report_path, encoding="utf-8") as file:
                        report = json.load(file)
                    failed = [check for check in report["audit"]["checks"]
                              if not check["passed"]]
                    self.assertEqual(failed, [], errors[-2000:])
                    self.assertEqual(onsale.returncode, 0, errors[-2000:])
                    self.assertGreater(report["summary"]["orders_confirmed"], 0)
                    # The fans rode over the outage (the monitor saw it).
                    self.assertIsNotNone(report["chaos"], errors[-2000:])
                    self.assertEqual(restarted.stop(), 0,
                                     sanitizer_report(restarted.stderr_lines)
                                     or "".join(restarted.stderr_lines[-20:]))
            finally:
                if onsale.poll() is None:
                    onsale.kill()
                    onsale.communicate()

    def test_a_refund_cut_short_after_the_gateway_is_finished_by_the_restart(self):
        with tempfile.TemporaryDirectory(prefix="boxoffice-failpoint-") as work, \
                GatewaySim(api_key="sk_test_failpoints") as sim:
            data_dir = os.path.join(work, "data")
            args = ["--gateway", "name=sim,url=%s,key=%s" % (sim.url, sim.api_key)]
            armed = Server(data_dir=data_dir, extra_args=args,
                           env={"BOXOFFICE_FAILPOINTS": "refund.gateway_done:crash"})
            definition = small_event()
            del definition["queue"]  # no waiting room: the fan shops at once
            event = armed.request("POST", "/v1/events", definition,
                                  headers=armed.operator()).json()
            fan = {"Authorization": "Bearer " +
                   armed.request("POST", "/v1/sessions", {}).json()["session_token"]}
            hold = armed.request("POST", "/v1/events/%s/holds" % event["id"],
                                 {"best_available": {"quantity": 2}}, headers=fan).json()
            order = armed.request("POST", "/v1/orders",
                                  {"hold_id": hold["hold_id"], "email": "fan@example.com",
                                   "payment": {"token": "tok_visa"}},
                                  headers=dict(fan, **{"Idempotency-Key": str(uuid.uuid4())}))
            self.assertEqual(order.status, 201, order.body)
            order_id = order.json()["order_id"]
            refund_key = {"Idempotency-Key": "refund-" + order_id}
            refund_path = "/v1/orders/%s/refund" % order_id
            with self.assertRaises(OSError):  # the connection dies with the server
                armed.request("POST", refund_path, {},
                              headers=dict(armed.operator(), **refund_key))
            wait_for(lambda: armed.process.poll() is not None, "the server to crash")
            self.assertTrue(crashed_there(armed, "refund.gateway_done"),
                            "".join(armed.stderr_lines[-20:]))
            armed.stop()

            with Server(data_dir=data_dir, extra_args=args) as restarted:
                # The restart finished the refund before serving anyone: the seats are for sale
                # again before the operator asks a second time, and their retry replays it.
                stats = restarted.request("GET", "/v1/events/%s/stats" % event["id"],
                                          headers=restarted.operator()).json()
                self.assertEqual(stats["inventory"]["sold"], 0)
                self.assertEqual(stats["inventory"]["available"], event["seat_count"])
                self.assertEqual(restarted.request("GET", "/v1/orders/" + order_id,
                                                   headers=restarted.operator()).json()["status"],
                                 "refunded")
                again = restarted.request("POST", refund_path, {},
                                          headers=dict(restarted.operator(), **refund_key))
                self.assertEqual(again.status, 200, again.body)
                self.assertEqual(again.json()["status"], "refunded")
                # At the gateway: one payment for the order, given back once: voided if the
                # outbox had not captured it yet, else refunded by one refund, whatever the retry.
                records = sim.intents()
                intents = [intent for intent in records["payment_intents"]
                           if intent["metadata"].get("reference") == order_id]
                self.assertEqual(len(intents), 1, records)
                if intents[0]["status"] == "succeeded":
                    self.assertEqual(records["refunds"], 1, records)
                else:
                    self.assertEqual(intents[0]["status"], "canceled", records)
                    self.assertEqual(records["refunds"], 0, records)
                self.assertEqual(restarted.stop(), 0, "".join(restarted.stderr_lines[-20:]))

    def test_a_crash_before_a_sequence_block_is_durable_hands_no_number_out_twice(self):
        # Blocks of 4: the event's creation claims numbers 1-4, the second join (number 2)
        # claims 5-8 ahead, and the crash comes before that claim is durable. Every number a
        # fan was told, across the crash and a clean restart after it, must be told once.
        block = ["--queue-sequence-block", "4"]
        with tempfile.TemporaryDirectory(prefix="boxoffice-failpoint-") as work:
            data_dir = os.path.join(work, "data")
            armed = Server(data_dir=data_dir, extra_args=block,
                           env={"BOXOFFICE_FAILPOINTS": "queue.block_claimed:crash@2"})
            event_id = armed.request("POST", "/v1/events", small_event(),
                                     headers=armed.operator()).json()["id"]
            told = [self.join(armed, event_id)]
            with self.assertRaises(OSError):  # the second join claims the next block
                self.join(armed, event_id)
            wait_for(lambda: armed.process.poll() is not None, "the server to crash")
            self.assertTrue(crashed_there(armed, "queue.block_claimed"),
                            "".join(armed.stderr_lines[-20:]))
            armed.stop()

            with Server(data_dir=data_dir, extra_args=block) as restarted:
                told += [self.join(restarted, event_id) for _ in range(6)]
                self.assertEqual(restarted.stop(), 0, "".join(restarted.stderr_lines[-20:]))
            with Server(data_dir=data_dir, extra_args=block) as again:
                told += [self.join(again, event_id) for _ in range(3)]
            self.assertEqual(len(set(told)), len(told), told)
            self.assertEqual(told, sorted(told), told)  # and in join order, across lives

    def join(self, server, event_id):
        """A new fan's place: its sequence number. With blocks this small, joins outrun the
        durable reservation of the next block and are told 503 queue_busy (Retry-After: 1), as
        a burst is; the fan asks again, as the page does."""
        fan = {"Authorization": "Bearer " +
               server.request("POST", "/v1/sessions", {}).json()["session_token"]}

        def attempt():
            joined = server.request("POST", "/v1/events/%s/queue" % event_id, headers=fan)
            if joined.status == 503 and joined.json()["error"]["code"] == "queue_busy":
                return None
            return joined
        joined = wait_for(attempt, "a place in the queue")
        self.assertEqual(joined.status, 201, joined.body)
        return joined.json()["sequence"]


if __name__ == "__main__":
    unittest.main()
