"""End-to-end: one fan's path through the waiting room to a hold, as DESIGN.md draws it."""

import unittest

from harness import Server, sanitizer_report, small_event, wait_for


def completed(server, order_id, headers):
    """The order once its status is `completed`, else None."""
    order = server.request("GET", "/v1/orders/" + order_id, headers=headers).json()
    return order if order["status"] == "completed" else None


class FanFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def session(self):
        token = self.server.request("POST", "/v1/sessions", body={}).json()["session_token"]
        return {"Authorization": "Bearer " + token}

    def admitted(self, event_id, fan):
        """Joins and polls until admitted; returns the access token."""
        joined = self.server.request("POST", f"/v1/events/{event_id}/queue", headers=fan)
        self.assertEqual(joined.status, 201, joined.body)
        ticket = joined.json()["queue_ticket"]
        def access_token():
            status = self.server.request("GET", f"/v1/events/{event_id}/queue/status",
                                         headers={**fan, "X-Queue-Ticket": ticket}).json()
            return status["state"] == "admitted" and status["access_token"]

        return wait_for(access_token, "the fan's admission")

    def test_queue_then_hold(self):
        """A hold on a queue-enabled event needs the fan's own access token for that event."""
        event = self.server.request("POST", "/v1/events", body=small_event(),
                                    headers=self.server.operator()).json()
        other = self.server.request("POST", "/v1/events", body=small_event(name="Other"),
                                    headers=self.server.operator()).json()
        fan, stranger = self.session(), self.session()
        hold = {"seats": [{"id": "101-A-3", "version": 0}]}
        path = f"/v1/events/{event['id']}/holds"

        without = self.server.request("POST", path, body=hold, headers=fan)
        self.assertEqual(without.status, 401, without.body)

        access = self.admitted(event["id"], fan)
        borrowed = self.server.request("POST", path, body=hold,
                                       headers={**stranger, "X-Access-Token": access})
        self.assertEqual(borrowed.status, 401, borrowed.body)
        other_access = self.admitted(other["id"], fan)
        wrong_event = self.server.request("POST", path, body=hold,
                                          headers={**fan, "X-Access-Token": other_access})
        self.assertEqual(wrong_event.status, 401, wrong_event.body)

        held = self.server.request("POST", path, body=hold,
                                   headers={**fan, "X-Access-Token": access})
        self.assertEqual(held.status, 201, held.body)
        self.assertEqual([seat["id"] for seat in held.json()["seats"]], ["101-A-3"])
        seat = [s for s in self.server.request("GET", f"/v1/events/{event['id']}/seats").json()
                ["seats"] if s["id"] == "101-A-3"][0]
        self.assertEqual(seat["status"], "held")


class DemoShopTest(unittest.TestCase):
    def test_demo_sells_a_ticket_end_to_end(self):
        """`make run`'s server: queue, hold, pay a test card through the demo gateways, ticket."""
        with Server(extra_args=["--demo"]) as server:
            flow = FanFlowTest()
            flow.server = server
            event_id = [line for line in server.stdout_lines
                        if "demo event at" in line][0].rstrip().rsplit("/", 1)[1]
            fan = flow.session()
            access = {**fan, "X-Access-Token": flow.admitted(event_id, fan)}
            hold = server.request("POST", f"/v1/events/{event_id}/holds",
                                  body={"best_available": {"quantity": 2}}, headers=access)
            self.assertEqual(hold.status, 201, hold.body)
            order = server.request("POST", "/v1/orders", headers=access, body={
                "hold_id": hold.json()["hold_id"], "email": "fan@example.com",
                "payment": {"token": "tok_visa"}})
            self.assertEqual(order.status, 201, order.body)
            self.assertEqual(order.json()["payment"]["gateway"], "demo-sim")
            current = wait_for(lambda: completed(server, order.json()["order_id"], fan),
                               "the order's completion")
            self.assertTrue(all(ticket["code"] for ticket in current["tickets"]))
            # The demo routes 70/30 over a Stripe and a Braintree simulator: by smooth weighted
            # round-robin the first order went to the Stripe one, the second goes to Braintree.
            second_fan = flow.session()
            second_access = {**second_fan,
                             "X-Access-Token": flow.admitted(event_id, second_fan)}
            second_hold = server.request("POST", f"/v1/events/{event_id}/holds",
                                         body={"best_available": {"quantity": 1}},
                                         headers=second_access)
            self.assertEqual(second_hold.status, 201, second_hold.body)
            second = server.request("POST", "/v1/orders", headers=second_access, body={
                "hold_id": second_hold.json()["hold_id"], "email": "fan@example.com",
                "payment": {"token": "tok_visa"}})
            self.assertEqual(second.status, 201, second.body)
            self.assertEqual(second.json()["payment"]["gateway"], "demo-braintree")
            paid = wait_for(lambda: completed(server, second.json()["order_id"], second_fan),
                            "the Braintree order's completion")
            self.assertEqual(paid["payment"]["status"], "captured")
            self.assertEqual(server.stop(), 0, sanitizer_report(server.stderr_lines)
                             or "".join(server.stderr_lines[-20:]))


class ClosedLoopAdmissionTest(unittest.TestCase):
    def test_an_order_or_leaving_frees_the_slot_for_the_next_fan(self):
        """With one active slot: the buyer's order hands it to the next fan at once and spends
        the buyer's access; the next fan leaving hands it on again; stats and metrics count
        each cause."""
        with Server(extra_args=["--demo"]) as server:
            flow = FanFlowTest()
            flow.server = server
            event = small_event(queue={"enabled": True, "admission_rate_per_s": 100,
                                       "max_active": 1, "access_ttl_s": 600})
            event_id = server.request("POST", "/v1/events", body=event,
                                      headers=server.operator()).json()["id"]
            buyer, second, third = flow.session(), flow.session(), flow.session()
            buyer_access = {**buyer, "X-Access-Token": flow.admitted(event_id, buyer)}
            tickets = {}
            for name, fan in (("second", second), ("third", third)):
                joined = server.request("POST", f"/v1/events/{event_id}/queue", headers=fan)
                self.assertEqual(joined.status, 201, joined.body)
                tickets[name] = {**fan, "X-Queue-Ticket": joined.json()["queue_ticket"]}
            status = f"/v1/events/{event_id}/queue/status"
            self.assertEqual(server.request("GET", status, headers=tickets["second"])
                             .json()["state"], "waiting")

            hold = server.request("POST", f"/v1/events/{event_id}/holds",
                                  body={"best_available": {"quantity": 2}}, headers=buyer_access)
            self.assertEqual(hold.status, 201, hold.body)
            order = server.request("POST", "/v1/orders", headers=buyer_access, body={
                "hold_id": hold.json()["hold_id"], "email": "fan@example.com",
                "payment": {"token": "tok_visa"}})
            self.assertEqual(order.status, 201, order.body)

            second_view = wait_for(
                lambda: (lambda v: v["state"] == "admitted" and v)(
                    server.request("GET", status, headers=tickets["second"]).json()),
                "the next fan's admission into the freed slot")
            self.assertEqual(second_view["sequence"], 2)
            self.assertEqual(second_view["admitted_as"], 2)
            again = server.request("POST", f"/v1/events/{event_id}/holds",
                                   body={"best_available": {"quantity": 1}}, headers=buyer_access)
            self.assertEqual(again.status, 401, again.body)
            self.assertEqual(again.json()["error"]["details"]["access_released"], "ordered")

            left = server.request("DELETE", f"/v1/events/{event_id}/queue",
                                  headers=tickets["second"])
            self.assertEqual(left.status, 204, left.body)
            self.assertEqual(server.request("DELETE", f"/v1/events/{event_id}/queue",
                                            headers=tickets["second"]).status, 204)
            wait_for(lambda: server.request("GET", status, headers=tickets["third"])
                     .json()["state"] == "admitted", "the third fan's admission")
            closed = server.request("GET", status, headers=tickets["second"]).json()
            self.assertEqual((closed["state"], closed["access_released"]), ("closed", "left"))
            rejoined = server.request("POST", f"/v1/events/{event_id}/queue", headers=second)
            self.assertEqual(rejoined.status, 201, rejoined.body)
            self.assertEqual(rejoined.json()["sequence"], 4)

            stats = server.request("GET", f"/v1/events/{event_id}/stats",
                                   headers=server.operator()).json()["queue"]
            self.assertEqual(stats["released"], {"ordered": 1, "left": 1, "idle": 0,
                                                 "expired": 0})
            metrics = server.request("GET", "/metrics").body.decode()
            self.assertIn(f'boxoffice_queue_released_total{{event_id="{event_id}",'
                          f'cause="ordered"}} 1', metrics)
            self.assertEqual(server.stop(), 0, sanitizer_report(server.stderr_lines)
                             or "".join(server.stderr_lines[-20:]))


if __name__ == "__main__":
    unittest.main()
