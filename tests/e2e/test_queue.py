"""End-to-end: the waiting room (join, status, admission order, operator controls, restarts)."""

import hashlib
import http.client
import json
import signal
import time
import unittest

from harness import Server, small_event, wait_for

FANS = 1000
# Seconds from creating a shuffled pre-queue event to its opening.
PREQUEUE_OPENS_IN_S = 8


class Client:
    """One keep-alive connection, so a thousand fans poll in seconds."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        all_headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=payload, headers=all_headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def close(self):
        self.connection.close()


def guest(client):
    status, body = client.request("POST", "/v1/sessions", {})
    assert status == 201, body
    return {"Authorization": "Bearer " + body["session_token"]}


class QueueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def create_event(self, **queue):
        settings = {"enabled": True, "policy": "fifo", "admission_rate_per_s": 100,
                    "max_active": 5000, "access_ttl_s": 600}
        settings.update(queue)
        response = self.server.request("POST", "/v1/events", small_event(queue=settings),
                                       headers=self.server.operator())
        self.assertEqual(response.status, 201, response.body)
        return response.json()["id"]

    def test_thousand_fans_are_admitted_in_join_order(self):
        """1,000 guest fans join a paused queue; once resumed they are admitted in join order."""
        event_id = self.create_event(admission_rate_per_s=200, max_active=FANS, paused=True)
        client = Client(self.server.port)
        fans = []
        for i in range(FANS):
            headers = guest(client)
            status, body = client.request("POST", f"/v1/events/{event_id}/queue", headers=headers)
            self.assertEqual(status, 201, body)
            self.assertEqual(body["state"], "waiting")
            self.assertEqual(body["position"], i + 1)
            fans.append(dict(headers, **{"X-Queue-Ticket": body["queue_ticket"]}))
        status, body = client.request("PATCH", f"/v1/events/{event_id}/queue", {"paused": False},
                                      headers=self.server.operator())
        self.assertEqual(status, 200, body)
        self.assertFalse(body["paused"])

        # Polling from the back to the front: since admission only moves forward, a fan seen
        # admitted means every fan polled after it (all ahead of it) must be admitted too.
        first_round_admitted = [None] * FANS
        deadline = time.monotonic() + 60
        round_number = 0
        while None in first_round_admitted and time.monotonic() < deadline:
            round_number += 1
            for i in reversed(range(FANS)):
                if first_round_admitted[i] is not None:
                    continue
                status, body = client.request("GET", f"/v1/events/{event_id}/queue/status",
                                              headers=fans[i])
                self.assertEqual(status, 200, body)
                if body["state"] == "admitted":
                    self.assertTrue(body["access_token"])
                    first_round_admitted[i] = round_number
                else:
                    self.assertEqual(body["state"], "waiting")
        self.assertNotIn(None, first_round_admitted)
        self.assertEqual(first_round_admitted, sorted(first_round_admitted))
        self.assertGreater(round_number, 1)  # the admissions were paced, not all at once

        status, stats = client.request("GET", f"/v1/events/{event_id}/stats",
                                       headers=self.server.operator())
        self.assertEqual(status, 200, stats)
        self.assertEqual(stats["queue"]["joined"], FANS)
        self.assertEqual(stats["queue"]["admitted"], FANS)
        self.assertEqual(stats["queue"]["waiting"], 0)
        client.close()

    def test_rejoin_gives_the_same_place(self):
        """The same session, or the same device, joining again gets its place back with 200."""
        event_id = self.create_event(paused=True)
        client = Client(self.server.port)
        first = guest(client)
        status, joined = client.request("POST", f"/v1/events/{event_id}/queue",
                                        headers=dict(first, **{"X-Device-Id": "device-1"}))
        self.assertEqual(status, 201)
        status, again = client.request("POST", f"/v1/events/{event_id}/queue", headers=first)
        self.assertEqual(status, 200)
        self.assertEqual(again["position"], joined["position"])
        other = guest(client)
        status, same_device = client.request("POST", f"/v1/events/{event_id}/queue",
                                             headers=dict(other, **{"X-Device-Id": "device-1"}))
        self.assertEqual(status, 200)
        self.assertEqual(same_device["position"], joined["position"])
        client.close()

    def test_tickets_of_others_are_rejected(self):
        """Forged, other-session and other-event tickets, and a missing one, are 401."""
        event_id = self.create_event(paused=True)
        other_event = self.create_event(paused=True)
        client = Client(self.server.port)
        fan = guest(client)
        _, joined = client.request("POST", f"/v1/events/{event_id}/queue", headers=fan)
        ticket = joined["queue_ticket"]
        path = f"/v1/events/{event_id}/queue/status"
        status, body = client.request("GET", path, headers=dict(fan, **{"X-Queue-Ticket": ticket}))
        self.assertEqual(status, 200, body)
        forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
        for headers, code in [
                (dict(fan, **{"X-Queue-Ticket": forged}), "invalid_queue_ticket"),
                (dict(guest(client), **{"X-Queue-Ticket": ticket}), "invalid_queue_ticket"),
                (fan, "missing_queue_ticket")]:
            status, body = client.request("GET", path, headers=headers)
            self.assertEqual(status, 401, body)
            self.assertEqual(body["error"]["code"], code)
        status, body = client.request("GET", f"/v1/events/{other_event}/queue/status",
                                      headers=dict(fan, **{"X-Queue-Ticket": ticket}))
        self.assertEqual(status, 401, body)
        status, body = client.request("GET", path, headers={"X-Queue-Ticket": ticket})
        self.assertEqual(status, 401, body)
        client.close()

    def test_operator_patch_is_reflected_in_the_event(self):
        """PATCH /queue answers the settings in force and GET /v1/events/{id} shows them."""
        event_id = self.create_event()
        response = self.server.request(
            "PATCH", f"/v1/events/{event_id}/queue",
            {"admission_rate_per_s": 7, "max_active": 3, "paused": True},
            headers=self.server.operator())
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.json()["admission_rate_per_s"], 7)
        queue = self.server.request("GET", f"/v1/events/{event_id}").json()["queue"]
        self.assertEqual((queue["admission_rate_per_s"], queue["max_active"], queue["paused"]),
                         (7, 3, True))
        listed = [item for item in self.server.request("GET", "/v1/events?limit=200").json()["items"]
                  if item["id"] == event_id]
        self.assertEqual(listed[0]["queue"]["admission_rate_per_s"], 7)
        bad = self.server.request("PATCH", f"/v1/events/{event_id}/queue", {"max_active": 0},
                                  headers=self.server.operator())
        self.assertEqual(bad.status, 422)
        fan = self.server.request("PATCH", f"/v1/events/{event_id}/queue", {"paused": False})
        self.assertEqual(fan.status, 401)

    def test_disabled_queue_admits_at_once(self):
        """With the queue disabled, joining answers admitted with an access token."""
        event_id = self.create_event(enabled=False)
        client = Client(self.server.port)
        fan = guest(client)
        status, body = client.request("POST", f"/v1/events/{event_id}/queue", headers=fan)
        self.assertEqual(status, 201, body)
        self.assertEqual(body["state"], "admitted")
        self.assertTrue(body["access_token"])
        status, again = client.request("POST", f"/v1/events/{event_id}/queue", headers=fan)
        self.assertEqual(status, 200, again)
        self.assertEqual(again["state"], "admitted")
        client.close()

    def test_shuffled_prequeue_reveals_a_verifiable_seed(self):
        """Pre-queue fans get a permutation of places at opening; the seed matches its hash."""
        # Opening far enough ahead that 20 joins fit before it on a busy machine; the seed is
        # then awaited, not slept for.
        opening = int(time.time()) + PREQUEUE_OPENS_IN_S  # whole seconds, as onsale_at has
        onsale_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(opening))
        response = self.server.request("POST", "/v1/events", small_event(
            onsale_at=onsale_at,
            queue={"enabled": True, "policy": "shuffle_prequeue", "admission_rate_per_s": 100,
                   "max_active": 5000, "access_ttl_s": 600, "paused": True}),
            headers=self.server.operator())
        self.assertEqual(response.status, 201, response.body)
        event_id = response.json()["id"]
        queue = response.json()["queue"]
        self.assertNotIn("seed", queue)
        commitment = queue["seed_sha256"]
        client = Client(self.server.port)
        fans = []
        for _ in range(20):
            headers = guest(client)
            status, body = client.request("POST", f"/v1/events/{event_id}/queue", headers=headers)
            self.assertEqual(status, 201, body)
            self.assertEqual(body["state"], "prequeue")
            fans.append(dict(headers, **{"X-Queue-Ticket": body["queue_ticket"]}))
        self.assertLess(time.time(), opening, "the joins took longer than the pre-queue lasted")
        queue = wait_for(lambda: self.opened_queue(event_id), "the pre-queue's opening")
        self.assertEqual(hashlib.sha256(queue["seed"].encode()).hexdigest(), commitment)
        self.assertEqual(queue["prequeue_size"], 20)
        positions = []
        for headers in fans:
            status, body = client.request("GET", f"/v1/events/{event_id}/queue/status",
                                          headers=headers)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["state"], "waiting")
            positions.append(body["position"])
        self.assertEqual(sorted(positions), list(range(1, 21)))
        client.close()

    def opened_queue(self, event_id):
        """The event's queue settings once its pre-queue has opened (the seed is out), else None."""
        queue = self.server.request("GET", f"/v1/events/{event_id}").json()["queue"]
        return queue if "seed" in queue else None

    def test_metrics_show_the_queue(self):
        """/metrics has the waiting room's families."""
        self.create_event()
        text = self.server.request("GET", "/metrics").body.decode()
        for family in ("boxoffice_queue_joined_total", "boxoffice_queue_waiting",
                       "boxoffice_queue_serving", "boxoffice_queue_active",
                       "boxoffice_queue_admitted_per_second", "boxoffice_queue_abandoned_total"):
            self.assertIn(family, text)


class QueueRestartTest(unittest.TestCase):
    def test_kill_keeps_places_and_settings(self):
        """After kill -9 a ticket keeps its place, new joins get new numbers, settings persist."""
        server = Server()
        try:
            settings = {"enabled": True, "policy": "fifo", "admission_rate_per_s": 100,
                        "max_active": 5000, "access_ttl_s": 600, "paused": True}
            event_id = server.request("POST", "/v1/events", small_event(queue=settings),
                                      headers=server.operator()).json()["id"]
            client = Client(server.port)
            fans = []
            for _ in range(3):
                headers = guest(client)
                _, body = client.request("POST", f"/v1/events/{event_id}/queue", headers=headers)
                fans.append((headers, body))
            status, _ = client.request("PATCH", f"/v1/events/{event_id}/queue",
                                       {"admission_rate_per_s": 9}, headers=server.operator())
            self.assertEqual(status, 200)
            client.close()
            server.stop(sig=signal.SIGKILL)
            restarted = Server(data_dir=server.data_dir)
            try:
                client = Client(restarted.port)
                for i, (headers, body) in enumerate(fans):
                    status, again = client.request(
                        "GET", f"/v1/events/{event_id}/queue/status",
                        headers=dict(headers, **{"X-Queue-Ticket": body["queue_ticket"]}))
                    self.assertEqual(status, 200, again)
                    self.assertEqual(again["position"], i + 1)
                status, newcomer = client.request("POST", f"/v1/events/{event_id}/queue",
                                                  headers=guest(client))
                self.assertEqual(status, 201, newcomer)
                self.assertGreater(newcomer["position"], 3)
                queue = restarted.request("GET", f"/v1/events/{event_id}").json()["queue"]
                self.assertEqual(queue["admission_rate_per_s"], 9)
                self.assertTrue(queue["paused"])
                client.close()
            finally:
                restarted.stop()
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
