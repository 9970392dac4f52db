"""End-to-end: the waiting room's server-sent events (GET /v1/events/{id}/queue/stream)."""

import http.client
import json
import signal
import unittest

from harness import Server, Stream, small_event, wait_for


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    all_headers = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    connection.request(method, path, body=payload, headers=all_headers)
    response = connection.getresponse()
    result = response.status, json.loads(response.read() or b"null")
    connection.close()
    return result


def guest(port):
    status, body = request(port, "POST", "/v1/sessions", {})
    assert status == 201, body
    return {"Authorization": "Bearer " + body["session_token"]}


def create_event(server, **queue):
    settings = {"enabled": True, "policy": "fifo", "admission_rate_per_s": 1,
                "max_active": 5000, "access_ttl_s": 600, "paused": True}
    settings.update(queue)
    response = server.request("POST", "/v1/events", small_event(queue=settings),
                              headers=server.operator())
    assert response.status == 201, response.body
    return response.json()["id"]


def join(port, event_id):
    fan = guest(port)
    status, body = request(port, "POST", f"/v1/events/{event_id}/queue", headers=fan)
    assert status == 201, body
    return dict(fan, **{"X-Queue-Ticket": body["queue_ticket"]})


class QueueStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_stream_follows_the_fan_to_admission(self):
        """The first event comes at once; positions fall as fans are admitted; the admitted event
        carries a working access token, and then the stream ends."""
        port = self.server.port
        event_id = create_event(self.server)
        join(port, event_id)
        join(port, event_id)
        fan = join(port, event_id)

        stream = Stream(port, f"/v1/events/{event_id}/queue/stream", fan)
        self.assertEqual(stream.response.status, 200)
        self.assertEqual(stream.header("Content-Type"), "text/event-stream")
        self.assertEqual(stream.header("Cache-Control"), "no-store")
        self.assertIsNone(stream.header("Content-Length"))
        # The queue is paused, so nothing changes: the head is the only event that can come,
        # and it comes before the first heartbeat (15 s), not after.
        first = stream.next_event()
        self.assertEqual(stream.comments, 0)
        self.assertEqual(first["state"], "waiting")
        self.assertEqual(first["position"], 3)
        self.assertEqual(first["queue_ticket"], fan["X-Queue-Ticket"])

        status, body = request(port, "PATCH", f"/v1/events/{event_id}/queue", {"paused": False},
                               headers=self.server.operator())
        self.assertEqual(status, 200, body)
        events = [first]
        while True:
            event = stream.next_event()
            if event is None:
                break
            events.append(event)
        stream.close()

        # Each event is a change: of position, or of `paused` (the resume is news in itself).
        shown = [(e["position"], e.get("paused", False)) for e in events if e["state"] == "waiting"]
        self.assertEqual(len(shown), len(set(shown)))
        self.assertEqual(shown[0], (3, True))
        waiting = [position for position, _ in shown]
        self.assertEqual(waiting, sorted(waiting, reverse=True))  # falling
        self.assertGreaterEqual(len(set(waiting)), 2)  # at one admission a second, 3 → 2 is seen
        last = events[-1]
        self.assertEqual(last["state"], "admitted")
        self.assertEqual(last["position"], 0)
        self.assertTrue(last["access_token"])
        self.assertEqual([e["state"] for e in events].count("admitted"), 1)

        status, hold = request(port, "POST", f"/v1/events/{event_id}/holds",
                               {"best_available": {"quantity": 1}},
                               headers=dict(fan, **{"X-Access-Token": last["access_token"]}))
        self.assertEqual(status, 201, hold)

    def test_the_operators_message_reaches_the_line_at_once(self):
        """A message set with PATCH is in the next status and pushed to an open stream, and
        taking it down ("") is pushed too; the fan far back hears it without waiting for their
        poll interval."""
        port = self.server.port
        event_id = create_event(self.server)
        fan = join(port, event_id)
        stream = Stream(port, f"/v1/events/{event_id}/queue/stream", fan)
        first = stream.next_event()
        self.assertNotIn("message", first)

        message = "Doors reopen at 10:15 — you keep your place"
        status, body = request(port, "PATCH", f"/v1/events/{event_id}/queue",
                               {"message": message}, headers=self.server.operator())
        self.assertEqual(status, 200, body)
        self.assertEqual(body["message"], message)
        self.assertTrue(body["paused"])  # a message alone leaves the other controls as they are
        self.assertEqual(stream.next_event()["message"], message)
        status, polled = request(port, "GET", f"/v1/events/{event_id}/queue/status", headers=fan)
        self.assertEqual((status, polled["message"]), (200, message))

        status, body = request(port, "PATCH", f"/v1/events/{event_id}/queue", {"message": ""},
                               headers=self.server.operator())
        self.assertEqual((status, body["message"]), (200, None))
        self.assertNotIn("message", stream.next_event())
        stream.close()

        for bad in ("line\nbreak", "x" * 281, 42, "bell\u0007", "c1\u0085"):
            status, body = request(port, "PATCH", f"/v1/events/{event_id}/queue",
                                   {"message": bad}, headers=self.server.operator())
            self.assertEqual(status, 422, bad)
            self.assertEqual(body["error"]["details"]["field"], "message")
        # 280 characters, most of them two bytes: counted as characters, not bytes.
        status, body = request(port, "PATCH", f"/v1/events/{event_id}/queue",
                               {"message": "ü" * 280}, headers=self.server.operator())
        self.assertEqual(status, 200, body)

    def test_bad_credentials_are_401_before_any_stream(self):
        """A forged ticket, another session's ticket, no ticket or no session: 401 as JSON."""
        port = self.server.port
        event_id = create_event(self.server)
        fan = join(port, event_id)
        ticket = fan["X-Queue-Ticket"]
        forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
        path = f"/v1/events/{event_id}/queue/stream"
        for headers, code in [
                (dict(fan, **{"X-Queue-Ticket": forged}), "invalid_queue_ticket"),
                (dict(guest(port), **{"X-Queue-Ticket": ticket}), "invalid_queue_ticket"),
                ({"Authorization": fan["Authorization"]}, "missing_queue_ticket"),
                ({"X-Queue-Ticket": ticket}, "missing_session")]:
            stream = Stream(port, path, headers)
            self.assertEqual(stream.response.status, 401)
            self.assertEqual(stream.header("Content-Type"), "application/json")
            self.assertEqual(json.loads(stream.response.read())["error"]["code"], code)
            stream.close()

    def test_stream_shows_in_metrics(self):
        """An open stream is a gauge in /metrics, its events a counter; hanging up frees it."""
        port = self.server.port
        event_id = create_event(self.server)
        fan = join(port, event_id)
        stream = Stream(port, f"/v1/events/{event_id}/queue/stream", fan)
        self.assertEqual(stream.next_event()["state"], "waiting")
        metrics = self.server.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r"\nboxoffice_http_streams_open [1-9]")
        self.assertRegex(metrics, r"\nboxoffice_http_stream_events_total [1-9]")
        stream.close()
        wait_for(lambda: "\nboxoffice_http_streams_open 0" in
                 self.server.request("GET", "/metrics").body.decode(), "the stream's gauge to fall")


class QueueStreamStopTest(unittest.TestCase):
    def test_sigterm_with_open_streams_exits_promptly(self):
        """SIGTERM ends every open stream (each client sees its end) and the server exits 0
        without waiting out the drain timeout (set to ten minutes here, so that the wait below
        tells the two apart on any machine)."""
        server = Server(extra_args=["--drain-timeout-s", "600"])
        try:
            event_id = create_event(server)
            streams = []
            for _ in range(3):
                fan = join(server.port, event_id)
                stream = Stream(server.port, f"/v1/events/{event_id}/queue/stream", fan)
                self.assertEqual(stream.next_event()["state"], "waiting")
                streams.append(stream)
            server.process.send_signal(signal.SIGTERM)
            for stream in streams:
                self.assertIsNone(stream.next_event())
                stream.close()
            self.assertEqual(server.process.wait(timeout=120), 0)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
