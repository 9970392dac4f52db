"""End-to-end: the order routes of the real binary before a payment gateway is wired (API.md
"Orders", "Check-in"). Gateway faults, kill -9 recovery and full purchases come with the gateway
wiring; here the server must refuse orders cleanly and keep everything else of checkout working."""

import unittest

from harness import Server, small_event


class OrdersWithoutGatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def create_event(self):
        response = self.server.request("POST", "/v1/events", small_event(queue={"enabled": False}),
                                       headers=self.server.operator())
        self.assertEqual(response.status, 201, response.body)
        return response.json()

    def session(self):
        response = self.server.request("POST", "/v1/sessions", {})
        self.assertEqual(response.status, 201, response.body)
        return {"Authorization": "Bearer " + response.json()["session_token"]}

    def test_order_is_503_and_the_hold_stays(self):
        """No gateway: 503 payments_unavailable with Retry-After, and the hold is untouched."""
        event = self.create_event()
        auth = self.session()
        held = self.server.request("POST", "/v1/events/%s/holds" % event["id"],
                                   {"best_available": {"quantity": 1}}, headers=auth)
        self.assertEqual(held.status, 201, held.body)
        hold_id = held.json()["hold_id"]
        order = self.server.request(
            "POST", "/v1/orders",
            {"hold_id": hold_id, "email": "fan@example.com", "payment": {"token": "tok_visa"}},
            headers=dict(auth, **{"Idempotency-Key": "k1"}))
        self.assertEqual(order.status, 503, order.body)
        self.assertEqual(order.json()["error"]["code"], "payments_unavailable")
        self.assertIsNotNone(order.header("Retry-After"))
        hold = self.server.request("GET", "/v1/holds/" + hold_id, headers=auth)
        self.assertEqual(hold.json()["status"], "held")

    def test_card_number_is_400(self):
        """A card number in any field is refused before anything else looks at the order."""
        response = self.server.request(
            "POST", "/v1/orders",
            {"hold_id": "hld_x", "email": "fan@example.com",
             "payment": {"token": "4111-1111-1111-1111"}},
            headers=self.session())
        self.assertEqual(response.status, 400, response.body)
        self.assertEqual(response.json()["error"]["code"], "raw_card_number")
        self.assertNotIn(b"4111", response.body)

    def test_event_publishes_its_ticket_key_and_checkin_refuses_forgeries(self):
        """The ticket key is stable across reads; a forged code is 422; scanner keys are per event."""
        event = self.create_event()
        self.assertTrue(event["ticket_public_key"])
        fetched = self.server.request("GET", "/v1/events/" + event["id"]).json()
        self.assertEqual(fetched["ticket_public_key"], event["ticket_public_key"])
        key = self.server.request("POST", "/v1/events/%s/scanner-keys" % event["id"], {},
                                  headers=self.server.operator())
        self.assertEqual(key.status, 201, key.body)
        scanner = {"Authorization": "Bearer " + key.json()["key"]}
        forged = self.server.request("POST", "/v1/events/%s/checkin" % event["id"],
                                     {"code": "AQdldnRfeHl6"}, headers=scanner)
        self.assertEqual(forged.status, 422, forged.body)
        self.assertEqual(forged.json()["error"]["code"], "invalid_ticket")
        fan = self.server.request("POST", "/v1/events/%s/checkin" % event["id"],
                                  {"code": "AQdldnRfeHl6"}, headers=self.session())
        self.assertEqual(fan.status, 401, fan.body)
        stats = self.server.request("GET", "/v1/events/%s/stats" % event["id"],
                                    headers=self.server.operator())
        self.assertEqual(stats.json()["orders"]["confirmed"], 0)


if __name__ == "__main__":
    unittest.main()
