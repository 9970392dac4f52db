"""End-to-end: an event's stats history for the operator console (GET /v1/events/{id}/stats/series
and GET /v1/events/{id}/stats/stream), sampled once a second by the real server."""

import unittest

from harness import Server, Stream, small_event, wait_for

# Every column of a sample (docs/api.md, "The stats history"); the real server runs every service
# the stats read, so none of them is ever null there.
COLUMNS = [
    "queue.joined", "queue.waiting", "queue.active", "queue.admitted", "queue.admitted_per_s",
    "queue.abandoned", "queue.released.ordered", "queue.released.left", "queue.released.idle",
    "queue.released.expired", "queue.settings.admission_rate_per_s", "queue.settings.max_active",
    "inventory.available", "inventory.held", "inventory.sold", "inventory.holds.expired",
    "orders.placed", "orders.confirmed", "orders.refunded", "orders.revenue_cents",
    "defense.allowed", "defense.challenged", "defense.blocked", "defense.rate_limited",
]


class StatsSeriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def create_event(self):
        # Queue off, so a hold needs no access token; the settings still show in the samples.
        event = small_event(queue={"enabled": False, "admission_rate_per_s": 40,
                                   "max_active": 300})
        response = self.server.request("POST", "/v1/events", event,
                                       headers=self.server.operator())
        self.assertEqual(response.status, 201, response.body)
        return response.json()["id"]

    def series(self, event_id, since=None):
        path = f"/v1/events/{event_id}/stats/series"
        if since is not None:
            path += f"?since={since}"
        response = self.server.request("GET", path, headers=self.server.operator())
        self.assertEqual(response.status, 200, response.body)
        return response.json()

    def samples(self, series):
        """The series as rows: [{"t", column: value}], oldest first."""
        return [dict({"t": t}, **{name: values[i] for name, values in series["series"].items()})
                for i, t in enumerate(series["t"])]

    def test_samples_follow_a_hold(self):
        """Samples come once a second with every column; a hold placed after one shows as
        inventory.held 1 in a later one, `since` returns only later samples, and the console's
        own reads of the series are not counted as the event's traffic."""
        event_id = self.create_event()
        first = wait_for(lambda: self.samples(self.series(event_id)), "the event's first sample")
        series = self.series(event_id)
        self.assertEqual(series["event_id"], event_id)
        self.assertEqual(series["interval_s"], 1)
        self.assertEqual(list(series["series"]), COLUMNS)
        self.assertIn("queue.joined", series["counters"])
        self.assertNotIn("inventory.held", series["counters"])
        sample = first[-1]
        for column in COLUMNS:
            self.assertIsInstance(sample[column], (int, float), column)
        self.assertEqual(sample["inventory.available"], 35)
        self.assertEqual(sample["inventory.held"], 0)
        self.assertEqual(sample["queue.settings.admission_rate_per_s"], 40)
        self.assertEqual(sample["queue.settings.max_active"], 300)

        # Many reads of the series have gone by (wait_for polls): operator calls, not counted.
        before = self.samples(self.series(event_id))[-1]
        self.assertEqual(before["defense.allowed"], 0)
        session = self.server.request("POST", "/v1/sessions", {}).json()["session_token"]
        hold = self.server.request("POST", f"/v1/events/{event_id}/holds",
                                   {"best_available": {"quantity": 1}},
                                   headers={"Authorization": "Bearer " + session})
        self.assertEqual(hold.status, 201, hold.body)

        def held_sample():
            later = self.samples(self.series(event_id, since=before["t"]))
            return [s for s in later if s["inventory.held"] == 1]

        held = wait_for(held_sample, "a sample with the hold")[0]
        self.assertGreater(held["t"], before["t"])
        self.assertEqual(held["inventory.available"], 34)
        self.assertGreaterEqual(held["defense.allowed"], 1)  # the hold itself, a fan's request
        later = self.series(event_id, since=before["t"])
        self.assertTrue(all(t > before["t"] for t in later["t"]))
        times = self.series(event_id)["t"]
        self.assertEqual(times, sorted(set(times)))

    def test_stream_sends_the_latest_sample_then_new_ones(self):
        """The stream's first event is the latest sample, at once; the next is a newer one."""
        event_id = self.create_event()
        latest = wait_for(lambda: self.series(event_id)["t"], "the event's first sample")[-1]
        stream = Stream(self.server.port, f"/v1/events/{event_id}/stats/stream",
                        self.server.operator())
        try:
            self.assertEqual(stream.response.status, 200)
            self.assertEqual(stream.header("Content-Type"), "text/event-stream")
            self.assertEqual(stream.header("Cache-Control"), "no-store")
            first = stream.next_event()
            self.assertGreaterEqual(first["t"], latest)
            self.assertEqual(list(first["values"]), COLUMNS)
            self.assertEqual(first["values"]["inventory.available"], 35)
            second = stream.next_event()
            self.assertGreater(second["t"], first["t"])
        finally:
            stream.close()

    def test_errors(self):
        """401 without the operator key, 404 for an unknown event, 422 for a bad `since`, on
        both routes where they apply; both paths are in the served OpenAPI document."""
        event_id = self.create_event()
        for suffix in ("series", "stream"):
            path = f"/v1/events/{event_id}/stats/{suffix}"
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                response = self.server.request("GET", path, headers=headers)
                self.assertEqual(response.status, 401, path)
                self.assertEqual(response.json()["error"]["code"], "invalid_admin_key")
            unknown = self.server.request("GET", f"/v1/events/evt_missing/stats/{suffix}",
                                          headers=self.server.operator())
            self.assertEqual(unknown.status, 404)
            self.assertEqual(unknown.json()["error"]["code"], "event_not_found")
        for since in ("abc", "-5", "1.5"):
            response = self.server.request(
                "GET", f"/v1/events/{event_id}/stats/series?since={since}",
                headers=self.server.operator())
            self.assertEqual(response.status, 422, since)
            error = response.json()["error"]
            self.assertEqual(error["code"], "validation_failed")
            self.assertEqual(error["details"]["field"], "since")
        openapi = self.server.request("GET", "/v1/openapi.yaml").body.decode()
        self.assertIn("/v1/events/{id}/stats/series:", openapi)
        self.assertIn("/v1/events/{id}/stats/stream:", openapi)


if __name__ == "__main__":
    unittest.main()
