"""`boxoffice gateway-sim` speaks Stripe's PaymentIntents subset as Stripe does."""

import subprocess
import threading
import unittest

from gateway_sim import GatewaySim
from harness import BINARY


class GatewaySimTest(unittest.TestCase):
    def test_help_lists_every_flag(self):
        """--help names each fault flag, so an operator can find them."""
        out = subprocess.run([BINARY, "gateway-sim", "--help"], capture_output=True, text=True,
                             check=True).stdout
        for flag in ("--listen", "--api-key", "--latency-ms", "--error-rate", "--timeout-rate",
                     "--decline-rate", "--seed"):
            self.assertIn(flag, out)

    def test_authorize_capture_refund_and_records(self):
        """A manual-capture intent goes requires_capture → succeeded, refunds, and is recorded."""
        with GatewaySim() as sim:
            self.assertEqual(sim.authorize("k1", api_key="sk_wrong").status, 401)
            created = sim.authorize("k1", amount=2500)
            self.assertEqual(created.status, 200, created.body)
            intent = created.json()
            self.assertTrue(intent["id"].startswith("pi_"))
            self.assertEqual(intent["object"], "payment_intent")
            self.assertEqual(intent["status"], "requires_capture")
            self.assertEqual(intent["amount"], 2500)
            self.assertEqual(intent["metadata"], {"idempotency_key": "k1"})
            path = "/v1/payment_intents/" + intent["id"]
            self.assertEqual(sim.request("GET", path).json()["status"], "requires_capture")
            found = sim.request("GET", "/v1/payment_intents/search?query=" +
                                "metadata%5B%27idempotency_key%27%5D%3A%27k1%27").json()
            self.assertEqual([i["id"] for i in found["data"]], [intent["id"]])
            captured = sim.request("POST", path + "/capture", [], idempotency_key="k1:capture")
            self.assertEqual(captured.json()["status"], "succeeded")
            self.assertEqual(sim.request("POST", path + "/cancel", []).status, 400)
            refund = sim.request("POST", "/v1/refunds", [("payment_intent", intent["id"])])
            self.assertEqual(refund.status, 200, refund.body)
            self.assertEqual(refund.json()["amount"], 2500)
            self.assertEqual(sim.request("GET", "/v1/payment_intents/pi_nope").status, 404)
            records = sim.intents()
            self.assertEqual(len(records["payment_intents"]), 1)
            self.assertEqual(records["payment_intents"][0]["create_attempts"], 1)
            self.assertEqual(records["refunds"], 1)

    def test_test_tokens(self):
        """tok_declined and tok_insufficient_funds decline (402 card_error); tok_error is 500."""
        with GatewaySim() as sim:
            declined = sim.authorize("d1", token="tok_declined")
            self.assertEqual(declined.status, 402)
            error = declined.json()["error"]
            self.assertEqual((error["type"], error["code"], error["decline_code"]),
                             ("card_error", "card_declined", "generic_decline"))
            broke = sim.authorize("d2", token="tok_insufficient_funds").json()["error"]
            self.assertEqual(broke["decline_code"], "insufficient_funds")
            failed = sim.authorize("d3", token="tok_error")
            self.assertEqual(failed.status, 500)
            self.assertEqual(failed.json()["error"]["type"], "api_error")
            self.assertEqual(sim.authorize("d4", token="4242424242424242").status, 400)

    def test_idempotency_as_stripe(self):
        """Same key and parameters replays; other parameters are refused; the first stays."""
        with GatewaySim() as sim:
            first = sim.authorize("same")
            again = sim.authorize("same")
            self.assertEqual(again.status, 200)
            self.assertEqual(again.json()["id"], first.json()["id"])
            self.assertEqual(again.header("Idempotent-Replayed"), "true")
            other = sim.authorize("same", amount=999)
            self.assertEqual(other.status, 400)
            self.assertEqual(other.json()["error"]["type"], "idempotency_error")
            records = sim.intents()
            self.assertEqual(len(records["payment_intents"]), 1)
            self.assertEqual(records["create_attempts"]["same"], 3)

    def test_concurrent_same_key_is_409(self):
        """A second request while the first (slowed by --latency-ms) is in flight gets 409."""
        with GatewaySim(extra_args=["--latency-ms", "1500"]) as sim:
            results = {}
            first = threading.Thread(target=lambda: results.update(first=sim.authorize("race")))
            first.start()
            for _ in range(1000):
                if "race" in sim.intents()["create_attempts"]:
                    break
            second = sim.authorize("race")
            first.join()
            self.assertEqual(results["first"].status, 200)
            self.assertEqual(second.status, 409)
            self.assertEqual(len(sim.intents()["payment_intents"]), 1)

    def test_faults(self):
        """--error-rate 1 does nothing and answers 500; --decline-rate 1 declines tok_visa."""
        with GatewaySim(extra_args=["--error-rate", "1"]) as sim:
            self.assertEqual(sim.authorize("e1").status, 500)
            self.assertEqual(sim.intents()["payment_intents"], [])
        with GatewaySim(extra_args=["--decline-rate", "1"]) as sim:
            self.assertEqual(sim.authorize("e2").status, 402)
        with GatewaySim(extra_args=["--timeout-rate", "1", "--timeout-hang-ms", "60000"]) as sim:
            with self.assertRaises(OSError):
                sim.authorize("slow", timeout=0.5)
            # It took effect before hanging: the ambiguous case.
            self.assertEqual(sim.intents()["payment_intents"][0]["status"], "requires_capture")


if __name__ == "__main__":
    unittest.main()
