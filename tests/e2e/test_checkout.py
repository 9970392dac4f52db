"""End-to-end: checkout through the real server and real gateway simulators (API.md "Orders").

Every test starts `boxoffice gateway-sim` processes and points `boxoffice serve --gateway` at them,
so the Stripe adapter, the router's breakers and failover, the ledger and the outbox worker all
run for real; the simulators' records prove that nobody was authorized or captured twice.
"""

import collections
import glob
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import uuid

from gateway_sim import GatewaySim
from harness import Server, small_event, wait_for

SIM_KEY = "sk_test_e2e"


def gateway_arg(name, sim, weight=1, timeout_ms=None):
    spec = "name=%s,url=%s,key=%s,weight=%d" % (name, sim.url, sim.api_key, weight)
    if timeout_ms is not None:
        spec += ",timeout_ms=%d" % timeout_ms
    return ["--gateway", spec]


def open_event(**overrides):
    """The 35-seat event with the queue off, so holds and orders need no access token."""
    return small_event(queue={"enabled": False}, **overrides)


class Shop:
    """A fan's calls against one server."""

    def __init__(self, test, server):
        self.test = test
        self.server = server

    def event(self, event=None):
        response = self.server.request("POST", "/v1/events", event or open_event(),
                                       headers=self.server.operator())
        self.test.assertEqual(response.status, 201, response.body)
        return response.json()["id"]

    def session(self):
        response = self.server.request("POST", "/v1/sessions", {})
        self.test.assertEqual(response.status, 201, response.body)
        return {"Authorization": "Bearer " + response.json()["session_token"]}

    def hold(self, event_id, auth, quantity=2):
        response = self.server.request("POST", "/v1/events/%s/holds" % event_id,
                                       {"best_available": {"quantity": quantity}}, headers=auth)
        self.test.assertEqual(response.status, 201, response.body)
        return response.json()

    def order(self, auth, hold_id, token="tok_visa", key=None, email="fan@example.com",
              timeout=30):
        headers = dict(auth)
        if key:
            headers["Idempotency-Key"] = key
        return self.server.request("POST", "/v1/orders",
                                   {"hold_id": hold_id, "email": email,
                                    "payment": {"token": token}},
                                   headers=headers, timeout=timeout)

    def wait_completed(self, order_id, auth):
        def completed():
            response = self.server.request("GET", "/v1/orders/" + order_id, headers=auth)
            self.test.assertEqual(response.status, 200, response.body)
            order = response.json()
            return order if order["status"] == "completed" else None

        return wait_for(completed, "order %s to complete" % order_id)

    def seats(self, event_id):
        response = self.server.request("GET", "/v1/events/%s/seats" % event_id)
        return {seat["id"]: seat for seat in response.json()["seats"]}


def read_text(path):
    with open(path, encoding="utf-8") as text:
        return text.read()


def live_authorizations(*sims):
    """Payment intents that still hold or took money, per the simulators' own records."""
    intents = []
    for sim in sims:
        intents += [i for i in sim.intents()["payment_intents"]
                    if i["status"] in ("requires_capture", "succeeded")]
    return intents


class OrdersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = GatewaySim(api_key=SIM_KEY)
        cls.server = Server(extra_args=gateway_arg("sim", cls.sim))
        cls.shop = None

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.sim.stop()

    def setUp(self):
        self.shop = Shop(self, self.server)

    def test_purchase_is_captured_ticketed_and_mailed(self):
        """Hold, order, then the worker captures, signs the tickets and writes the mail."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=2)
        response = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
        self.assertEqual(response.status, 201, response.body)
        order = response.json()
        self.assertEqual(order["status"], "confirmed")
        self.assertEqual(order["total_cents"], hold["total_cents"])
        self.assertEqual((order["payment"]["status"], order["payment"]["gateway"]),
                         ("authorized", "sim"))
        self.assertEqual(sorted(t["seat_id"] for t in order["tickets"]),
                         sorted(s["id"] for s in hold["seats"]))
        seat_map = shop.seats(event_id)
        for seat in hold["seats"]:
            self.assertEqual(seat_map[seat["id"]]["status"], "sold")
        done = shop.wait_completed(order["order_id"], auth)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["payment"]["status"], "captured")
        self.assertTrue(all(ticket.get("code") for ticket in done["tickets"]))
        captured = [i for i in self.sim.intents()["payment_intents"]
                    if i["metadata"].get("idempotency_key") and i["status"] == "succeeded"
                    and i["amount"] == order["total_cents"]]
        self.assertTrue(captured, "the simulator never saw the capture")
        mails = [read_text(path) for path in
                 glob.glob(os.path.join(self.server.data_dir, "mail", "*.eml"))]
        mail = next((text for text in mails if order["order_id"] in text), None)
        self.assertIsNotNone(mail, "no confirmation mail")
        for ticket in done["tickets"]:
            self.assertIn("ticket-%s.svg" % ticket["id"], mail)
        # Someone else's session can read neither the order nor a ticket's QR code.
        other = shop.session()
        self.assertEqual(self.server.request("GET", "/v1/orders/" + order["order_id"],
                                             headers=other).status, 404)
        ticket = done["tickets"][0]
        qr_path = "/v1/tickets/%s/qr.svg" % ticket["id"]
        self.assertEqual(self.server.request("GET", qr_path, headers=other).status, 404)
        self.assertEqual(self.server.request("GET", qr_path).status, 401)
        qr = self.server.request("GET", qr_path, headers=auth)
        self.assertEqual(qr.status, 200, qr.body)
        self.assertEqual(qr.header("content-type"), "image/svg+xml")
        self.assertIn("no-store", qr.header("cache-control"))
        self.assertTrue(qr.body.startswith(b"<svg") or b"<svg" in qr.body[:200])

        # At the door: the first scan admits, the second is refused with the first time.
        path = "/v1/events/%s/checkin" % event_id
        scan = self.server.request("POST", path, {"code": ticket["code"]},
                                   headers=self.server.operator())
        self.assertEqual(scan.status, 200, scan.body)
        self.assertEqual(scan.json()["seat_id"], ticket["seat_id"])
        again = self.server.request("POST", path, {"code": ticket["code"]},
                                    headers=self.server.operator())
        self.assertEqual(again.status, 409)
        self.assertEqual(again.json()["error"]["code"], "already_checked_in")

        # The operator refunds: money back at the gateway, tickets revoked, seats on sale.
        refund = self.server.request("POST", "/v1/orders/%s/refund" % order["order_id"],
                                     headers=self.server.operator())
        self.assertEqual(refund.status, 200, refund.body)
        self.assertEqual(refund.json()["status"], "refunded")
        self.assertEqual(refund.json()["payment"]["status"], "refunded")
        seat_map = shop.seats(event_id)
        for seat in hold["seats"]:
            self.assertEqual(seat_map[seat["id"]]["status"], "available")
        self.assertGreaterEqual(self.sim.intents()["refunds"], 1)
        revoked = self.server.request("POST", "/v1/events/%s/checkin" % event_id,
                                      {"code": done["tickets"][1]["code"]},
                                      headers=self.server.operator())
        self.assertEqual(revoked.status, 422)
        self.assertEqual(revoked.json()["error"]["code"], "invalid_ticket")
        self.assertEqual(self.server.request("GET", qr_path, headers=auth).status, 409)

    def test_decline_keeps_the_hold_for_a_retry(self):
        """402 payment_declined leaves the hold live; a retry with a good card buys it."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=1)
        declined = shop.order(auth, hold["hold_id"], token="tok_insufficient_funds",
                              key=str(uuid.uuid4()))
        self.assertEqual(declined.status, 402, declined.body)
        error = declined.json()["error"]
        self.assertEqual(error["code"], "payment_declined")
        self.assertEqual(error["details"]["decline_code"], "insufficient_funds")
        still = self.server.request("GET", "/v1/holds/" + hold["hold_id"], headers=auth)
        self.assertEqual(still.json()["status"], "held")
        retry = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
        self.assertEqual(retry.status, 201, retry.body)
        again = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
        self.assertEqual(again.status, 409)
        self.assertEqual(again.json()["error"]["code"], "hold_expired")

    def test_idempotency_replay_reuse_and_race(self):
        """Same key and body replay the first answer; another body is 422; a race makes one order."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=1)
        key = str(uuid.uuid4())
        first = shop.order(auth, hold["hold_id"], key=key)
        self.assertEqual(first.status, 201, first.body)
        replay = shop.order(auth, hold["hold_id"], key=key)
        self.assertEqual(replay.status, 201)
        self.assertEqual(replay.json(), first.json())
        reused = shop.order(auth, hold["hold_id"], key=key, email="other@example.com")
        self.assertEqual(reused.status, 422)
        self.assertEqual(reused.json()["error"]["code"], "idempotency_key_reused")

        # Ten concurrent requests with one key: exactly one order, the others replay or wait.
        hold = shop.hold(event_id, auth, quantity=1)
        key = str(uuid.uuid4())
        answers, lock = [], threading.Lock()
        barrier = threading.Barrier(10)

        def buy():
            barrier.wait()
            response = shop.order(auth, hold["hold_id"], key=key)
            with lock:
                answers.append(response)

        threads = [threading.Thread(target=buy) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = collections.Counter(a.status for a in answers)
        self.assertEqual(set(statuses) - {201, 409}, set(), statuses)
        order_ids = {a.json()["order_id"] for a in answers if a.status == 201}
        self.assertEqual(len(order_ids), 1, statuses)
        for conflict in (a for a in answers if a.status == 409):
            self.assertEqual(conflict.json()["error"]["code"], "idempotency_in_flight")
        keys = [i["metadata"].get("idempotency_key") for i in live_authorizations(self.sim)]
        self.assertEqual(len(keys), len(set(keys)), "an idempotency key authorized twice")

    def test_raw_card_number_is_refused_and_not_logged(self):
        """A Luhn-valid card number anywhere in the body is 400 and never reaches the log."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=1)
        response = shop.order(auth, hold["hold_id"], token="4242 4242 4242 4242")
        self.assertEqual(response.status, 400, response.body)
        self.assertEqual(response.json()["error"]["code"], "raw_card_number")
        self.assertNotIn(b"4242", response.body)
        logs = "".join(self.server.stdout_lines + self.server.stderr_lines)
        self.assertNotIn("4242 4242", logs)
        self.assertNotIn("4242424242424242", logs)

    def test_card_number_in_idempotency_key_is_refused_and_not_stored(self):
        """A card number in Idempotency-Key is 400 naming the header; no log line or ledger file
        (the idempotency record, the payment attempt) holds it, and the hold is still buyable."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=1)
        intents_before = len(self.sim.intents()["payment_intents"])
        for key in ("4111111111111111", "order-4111-1111-1111-1111"):
            response = shop.order(auth, hold["hold_id"], key=key)
            self.assertEqual(response.status, 400, response.body)
            error = response.json()["error"]
            self.assertEqual(error["code"], "raw_card_number")
            self.assertEqual(error["details"]["field"], "Idempotency-Key")
            self.assertNotIn(b"1111", response.body)
        self.assertEqual(len(self.sim.intents()["payment_intents"]), intents_before,
                         "the gateway was asked to authorize")
        bought = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
        self.assertEqual(bought.status, 201, bought.body)
        logs = "".join(self.server.stdout_lines + self.server.stderr_lines)
        self.assertNotIn("4111111111111111", logs)
        self.assertNotIn("4111-1111", logs)
        for directory, _, files in os.walk(self.server.data_dir):
            for name in files:
                with open(os.path.join(directory, name), "rb") as stored:
                    data = stored.read()
                self.assertNotIn(b"4111111111111111", data, name)
                self.assertNotIn(b"4111-1111-1111-1111", data, name)

    def test_email_the_mailer_would_refuse_is_422_before_paying(self):
        """A CR/LF, a display name or a list in `email` is 422 naming the field before the card
        is authorized (the mailer would refuse it after the fan paid); the hold stays."""
        shop = self.shop
        event_id = shop.event()
        auth = shop.session()
        hold = shop.hold(event_id, auth, quantity=1)
        intents_before = len(self.sim.intents()["payment_intents"])
        for email in ("fan@example.com\r\nBcc: x@y", '"x" <a@b>, c@d', "Fan <fan@example.com>"):
            response = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()), email=email)
            self.assertEqual(response.status, 422, (email, response.body))
            error = response.json()["error"]
            self.assertEqual(error["code"], "validation_failed")
            self.assertEqual(error["details"]["field"], "email")
        self.assertEqual(len(self.sim.intents()["payment_intents"]), intents_before,
                         "a fan paid for tickets that cannot be mailed")
        still = self.server.request("GET", "/v1/holds/" + hold["hold_id"], headers=auth)
        self.assertEqual(still.json()["status"], "held")
        bought = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
        self.assertEqual(bought.status, 201, bought.body)


class GatewayFaultsTest(unittest.TestCase):
    def test_breaker_opens_and_orders_still_succeed(self):
        """30% errors at the primary: its breaker opens, >= 99.5% of 2,000 orders succeed."""
        sims = [GatewaySim(api_key=SIM_KEY, extra_args=["--error-rate", "0.3", "--seed", "1"]),
                GatewaySim(api_key=SIM_KEY), GatewaySim(api_key=SIM_KEY)]
        args = (gateway_arg("primary", sims[0], 70) + gateway_arg("second", sims[1], 20) +
                gateway_arg("third", sims[2], 10))
        server = Server(extra_args=args)
        try:
            shop = Shop(self, server)
            orders_wanted, clients = 2000, 16
            # 2,000 single-seat orders need 2,000 seats: 20 rows of 100.
            event_id = shop.event(open_event(
                name="Faults", price_tiers=[{"id": "A", "name": "Floor", "price_cents": 5000}],
                sections=[{"id": "1", "name": "Floor", "tier": "A",
                           "rows": [{"label": "R%d" % r, "seats": 100} for r in range(20)]}]))
            outcomes, lock = collections.Counter(), threading.Lock()

            def client(index):
                for _ in range(orders_wanted // clients):
                    # A fan per purchase: each session may buy per_customer seats only.
                    auth = shop.session()
                    hold = server.request("POST", "/v1/events/%s/holds" % event_id,
                                          {"best_available": {"quantity": 1}}, headers=auth)
                    if hold.status != 201:
                        with lock:
                            outcomes["hold %d" % hold.status] += 1
                        continue
                    response = shop.order(auth, hold.json()["hold_id"], key=str(uuid.uuid4()))
                    # A refusal is counted with its code, so a failure says which it was.
                    outcome = response.status
                    if outcome != 201:
                        try:
                            outcome = (outcome, response.json()["error"]["code"])
                        except (ValueError, KeyError, TypeError):
                            outcome = (outcome, response.body[:80])
                    with lock:
                        outcomes[outcome] += 1

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(sum(outcomes.values()), orders_wanted)
            self.assertGreaterEqual(outcomes[201], orders_wanted * 0.995, outcomes)
            metrics = server.request("GET", "/metrics").body.decode()
            rejected = [line for line in metrics.splitlines()
                        if line.startswith("boxoffice_payment_breaker_rejections_total")
                        and 'gateway="primary"' in line]
            self.assertTrue(rejected and float(rejected[0].split()[-1]) > 0,
                            "the primary's breaker never opened:\n" + "\n".join(rejected))
            live = live_authorizations(*sims)
            keys = collections.Counter(i["metadata"].get("idempotency_key") for i in live)
            self.assertEqual([k for k, n in keys.items() if n > 1], [],
                             "an order was authorized twice")
            self.assertEqual(len(live), outcomes[201])
        finally:
            server.cleanup()
            for sim in sims:
                sim.stop()


class NonBlockingTest(unittest.TestCase):
    """Orders do not hold a worker while the gateway answers."""

    def test_one_order_worker_keeps_many_authorizations_in_flight(self):
        """One worker, and a gateway that answers nothing until 12 authorizations wait.

        A worker that waited for its gateway call would hold the only thread, the simulator
        would never see 12 calls at once, and every order would time out. Each order is 201.
        """
        fans = 12
        with GatewaySim(api_key=SIM_KEY,
                        extra_args=["--answer-together", str(fans)]) as sim:
            server = Server(extra_args=gateway_arg("sim", sim, timeout_ms=20000) +
                            ["--order-workers", "1"])
            try:
                shop = Shop(self, server)
                event_id = shop.event()
                buyers = [shop.session() for _ in range(fans)]
                holds = [shop.hold(event_id, auth, quantity=1)["hold_id"] for auth in buyers]
                answers = [None] * fans

                def buy(index):
                    answers[index] = shop.order(buyers[index], holds[index],
                                                key=str(uuid.uuid4()))

                threads = [threading.Thread(target=buy, args=(i,)) for i in range(fans)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                self.assertEqual([a.status for a in answers], [201] * fans,
                                 [a.body for a in answers if a.status != 201])
                self.assertEqual(len(live_authorizations(sim)), fans)
                metrics = server.request("GET", "/metrics").body.decode()
                self.assertIn('boxoffice_orders_total{outcome="confirmed"} %d' % fans, metrics)
            finally:
                server.cleanup()


class CrashTest(unittest.TestCase):
    """kill -9 at the two dangerous moments of a sale."""

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="boxoffice-orders-crash-")

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self, sim):
        return Server(data_dir=self.data_dir, extra_args=gateway_arg("sim", sim, timeout_ms=10000))

    def test_crash_between_authorize_and_confirm_voids_the_authorization(self):
        """The gateway authorized but the server died before the sale: restart voids it."""
        # Every POST takes effect at once and then answers only after 3 s.
        sim = GatewaySim(api_key=SIM_KEY,
                         extra_args=["--timeout-rate", "1", "--timeout-hang-ms", "3000"])
        server = self.start(sim)
        try:
            shop = Shop(self, server)
            event_id = shop.event()
            auth = shop.session()
            hold = shop.hold(event_id, auth, quantity=2)
            def buy():
                try:
                    shop.order(auth, hold["hold_id"], key="crash-1", timeout=10)
                except ConnectionError:
                    pass  # the server is killed while this request waits: expected

            buyer = threading.Thread(target=buy)
            buyer.start()
            wait_for(lambda: sim.intents()["payment_intents"], "the authorization at the gateway")
            self.assertEqual(len(sim.intents()["payment_intents"]), 1)
            server.stop(sig=signal.SIGKILL)
            buyer.join()

            server = self.start(sim)
            shop = Shop(self, server)
            wait_for(lambda: not live_authorizations(sim), "the orphan authorization's void")
            self.assertEqual([i["status"] for i in sim.intents()["payment_intents"]],
                             ["canceled"])
            seat_map = shop.seats(event_id)
            self.assertTrue(all(seat_map[s["id"]]["status"] != "sold" for s in hold["seats"]))
        finally:
            server.cleanup()
            sim.stop()

    def test_crash_during_capture_resumes_the_outbox(self):
        """The sale was confirmed, the capture was in flight: restart completes it, once."""
        sim = GatewaySim(api_key=SIM_KEY,
                         extra_args=["--timeout-rate", "1", "--timeout-hang-ms", "1500"])
        server = self.start(sim)
        try:
            shop = Shop(self, server)
            event_id = shop.event()
            auth = shop.session()
            hold = shop.hold(event_id, auth, quantity=1)
            response = shop.order(auth, hold["hold_id"], key="crash-2")
            self.assertEqual(response.status, 201, response.body)
            order_id = response.json()["order_id"]
            # The worker sends the capture at once; it takes effect, then its answer hangs.
            wait_for(lambda: [i["status"] for i in sim.intents()["payment_intents"]] ==
                     ["succeeded"], "the capture at the gateway")
            server.stop(sig=signal.SIGKILL)

            server = self.start(sim)
            shop = Shop(self, server)
            done = shop.wait_completed(order_id, auth)
            self.assertEqual(done["status"], "completed", done)
            intents = sim.intents()["payment_intents"]
            self.assertEqual([i["status"] for i in intents], ["succeeded"])
            self.assertEqual(shop.seats(event_id)[hold["seats"][0]["id"]]["status"], "sold")
        finally:
            server.cleanup()
            sim.stop()


class BraintreeTest(unittest.TestCase):
    """A shop paid through Braintree's API: `--gateway api=braintree` against gateway-sim."""

    def test_an_order_is_paid_captured_and_refunded_through_braintree(self):
        """Order, capture by the outbox, refund: one transaction, voided before settlement."""
        with GatewaySim(api_key="private_e2e",
                        extra_args=["--api", "braintree", "--public-key", "public_e2e"]) as sim:
            spec = "name=bt,api=braintree,url=%s,key=private_e2e,public_key=public_e2e" % sim.url
            server = Server(extra_args=["--gateway", spec])
            try:
                shop = Shop(self, server)
                event_id = shop.event()
                auth = shop.session()
                hold = shop.hold(event_id, auth, quantity=2)
                placed = shop.order(auth, hold["hold_id"], key=str(uuid.uuid4()))
                self.assertEqual(placed.status, 201, placed.body)
                order = placed.json()
                self.assertEqual(order["payment"]["gateway"], "bt")
                done = shop.wait_completed(order["order_id"], auth)
                self.assertEqual(done["payment"]["status"], "captured")
                declined = shop.order(auth, shop.hold(event_id, auth, quantity=1)["hold_id"],
                                      token="tok_declined", key=str(uuid.uuid4()))
                self.assertEqual(declined.status, 402, declined.body)
                refund = server.request("POST", "/v1/orders/%s/refund" % order["order_id"], {},
                                        headers=dict(server.operator(),
                                                     **{"Idempotency-Key": "bt-refund-1"}))
                self.assertEqual(refund.status, 200, refund.body)
                self.assertEqual(refund.json()["status"], "refunded")
                records = json.loads(sim.request("GET", "/_sim/transactions").body)
                mine = [t for t in records["transactions"] if t["orderId"] == order["order_id"]]
                self.assertEqual(len(mine), 1, records)
                self.assertEqual(mine[0]["status"], "VOIDED", records)
                self.assertEqual(mine[0]["authorize_attempts"], 1, records)
            finally:
                server.cleanup()


if __name__ == "__main__":
    unittest.main()
