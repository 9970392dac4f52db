"""End-to-end: seat holds through the real server (API.md "Seats" and "Holds")."""

import random
import shutil
import signal
import tempfile
import threading
import unittest

from harness import Server, small_event


def fifty_seat_event():
    """50 seats in 5 rows of 10, queue off so holds need no access token."""
    return small_event(
        name="Stampede",
        price_tiers=[{"id": "A", "name": "Floor", "price_cents": 5000}],
        sections=[{"id": "1", "name": "Floor", "tier": "A",
                   "rows": [{"label": label, "seats": 10} for label in "ABCDE"]}],
        queue={"enabled": False})


class HoldsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def create_event(self, event=None, server=None):
        server = server or self.server
        response = server.request("POST", "/v1/events", event or small_event(queue={"enabled": False}),
                                  headers=server.operator())
        self.assertEqual(response.status, 201, response.body)
        return response.json()["id"]

    def session(self, server=None):
        response = (server or self.server).request("POST", "/v1/sessions", {})
        self.assertEqual(response.status, 201, response.body)
        return {"Authorization": "Bearer " + response.json()["session_token"]}

    def seats(self, event_id, server=None):
        response = (server or self.server).request("GET", "/v1/events/%s/seats" % event_id)
        self.assertEqual(response.status, 200)
        return {seat["id"]: seat for seat in response.json()["seats"]}

    def hold(self, event_id, auth, body, server=None):
        return (server or self.server).request("POST", "/v1/events/%s/holds" % event_id, body,
                                               headers=auth)

    def test_stampede_200_clients_on_50_seats(self):
        """200 concurrent clients on 50 seats: no seat in two holds, and the seat map agrees."""
        event_id = self.create_event(fifty_seat_event())
        seat_ids = list(self.seats(event_id))
        self.assertEqual(len(seat_ids), 50)
        sessions = [self.session() for _ in range(200)]
        granted, failures, lock = [], [], threading.Lock()
        start = threading.Barrier(200)

        def client(index):
            rng = random.Random(index)
            if index % 2:
                body = {"best_available": {"quantity": rng.randint(1, 3)}}
            else:
                first = rng.randrange(0, 48)
                body = {"seats": [{"id": seat_ids[first + i], "version": 0}
                                  for i in range(rng.randint(1, 2))]}
            start.wait()
            response = self.hold(event_id, sessions[index], body)
            with lock:
                if response.status == 201:
                    granted.append((index, response.json()))
                elif response.status != 409:
                    failures.append((response.status, response.body))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(failures, [])
        self.assertGreater(len(granted), 0)
        owner = {}
        for index, hold in granted:
            for seat in hold["seats"]:
                self.assertNotIn(seat["id"], owner, "seat %s in two holds" % seat["id"])
                owner[seat["id"]] = (index, seat["version"])
        seat_map = self.seats(event_id)
        for seat_id, seat in seat_map.items():
            if seat_id in owner:
                self.assertEqual(seat["status"], "held")
                self.assertEqual(seat["version"], owner[seat_id][1])
            else:
                self.assertEqual(seat["status"], "available")
        stats = self.server.request("GET", "/v1/events/%s/stats" % event_id,
                                    headers=self.server.operator())
        self.assertEqual(stats.status, 200)
        inventory = stats.json()["inventory"]
        self.assertEqual(inventory["held"], len(owner))
        self.assertEqual(inventory["available"] + inventory["held"] + inventory["sold"], 50)
        # Every granted hold is readable by its own session, and says so.
        for index, hold in granted[:20]:
            got = self.server.request("GET", "/v1/holds/" + hold["hold_id"],
                                      headers=sessions[index])
            self.assertEqual(got.status, 200)
            self.assertEqual(got.json()["status"], "held")

    def test_hold_needs_a_session(self):
        """POST /v1/events/{id}/holds without a session is 401."""
        event_id = self.create_event()
        response = self.hold(event_id, {}, {"best_available": {"quantity": 1}})
        self.assertEqual(response.status, 401)
        self.assertEqual(response.json()["error"]["code"], "missing_session")

    def test_hold_get_delete_and_ownership(self):
        """A hold shows its deadline to its owner only; DELETE puts its seats back on sale."""
        event_id = self.create_event()
        alice, bob = self.session(), self.session()
        response = self.hold(event_id, alice, {"seats": [{"id": "101-B-3", "version": 0},
                                                         {"id": "101-B-4", "version": 0}]})
        self.assertEqual(response.status, 201, response.body)
        hold = response.json()
        self.assertEqual([s["id"] for s in hold["seats"]], ["101-B-3", "101-B-4"])
        self.assertEqual([s["version"] for s in hold["seats"]], [1, 1])
        self.assertEqual(hold["total_cents"], 50000)
        self.assertTrue(hold["expires_at"].endswith("Z"))
        path = "/v1/holds/" + hold["hold_id"]
        self.assertEqual(self.server.request("GET", path, headers=bob).status, 404)
        self.assertEqual(self.server.request("DELETE", path, headers=bob).status, 404)
        self.assertEqual(self.server.request("GET", path).status, 401)
        mine = self.server.request("GET", path, headers=alice)
        self.assertEqual(mine.status, 200)
        self.assertEqual(mine.json()["expires_at"], hold["expires_at"])
        self.assertEqual(self.seats(event_id)["101-B-3"]["status"], "held")
        self.assertEqual(self.server.request("DELETE", path, headers=alice).status, 204)
        seat = self.seats(event_id)["101-B-3"]
        self.assertEqual((seat["status"], seat["version"]), ("available", 2))
        self.assertEqual(self.server.request("GET", path, headers=alice).json()["status"],
                         "released")
        self.assertEqual(self.server.request("DELETE", path, headers=alice).status, 404)

    def test_conflict_offers_alternatives(self):
        """A stale version is 409 seat_conflict naming the seat and offering as many others."""
        event_id = self.create_event()
        first = self.hold(event_id, self.session(), {"seats": [{"id": "101-A-10", "version": 0}]})
        self.assertEqual(first.status, 201)
        response = self.hold(event_id, self.session(),
                             {"seats": [{"id": "101-A-10", "version": 0},
                                        {"id": "101-A-11", "version": 0}]})
        self.assertEqual(response.status, 409)
        error = response.json()["error"]
        self.assertEqual(error["code"], "seat_conflict")
        self.assertEqual(error["details"]["conflicts"], ["101-A-10"])
        alternatives = error["details"]["alternatives"]
        self.assertEqual(len(alternatives), 2)
        self.assertTrue(all(a["id"].startswith("101-") for a in alternatives))
        # Nothing was held: 101-A-11 is on sale (its version moved on when it was given back).
        self.assertEqual(self.seats(event_id)["101-A-11"]["status"], "available")
        retry = self.hold(event_id, self.session(), {"seats": alternatives})
        self.assertEqual(retry.status, 201, retry.body)

    def test_limits_and_bad_requests(self):
        """Over per_customer is 422 limit_exceeded; malformed bodies are 4xx, never 5xx."""
        event_id = self.create_event(small_event(queue={"enabled": False},
                                                 limits={"per_order": 4, "per_customer": 4}))
        auth = self.session()
        self.assertEqual(self.hold(event_id, auth, {"best_available": {"quantity": 3}}).status, 201)
        over = self.hold(event_id, auth, {"best_available": {"quantity": 2}})
        self.assertEqual(over.status, 422)
        self.assertEqual(over.json()["error"]["code"], "limit_exceeded")
        for body in ({}, {"seats": []}, {"seats": [{"id": "nope-A-1", "version": 0}]},
                     {"seats": [{"id": "101-A-1"}]}, {"best_available": {"quantity": 0}},
                     {"best_available": {"quantity": 1, "section": "999"}}, [1, 2]):
            response = self.hold(event_id, self.session(), body)
            self.assertEqual(response.status, 422, (body, response.body))
        none_left = self.hold(event_id, self.session(),
                              {"best_available": {"quantity": 3, "accessible": True}})
        self.assertEqual(none_left.status, 409)
        self.assertEqual(none_left.json()["error"]["code"], "not_enough_seats")
        missing = self.hold("evt_doesnotexist0000", self.session(),
                            {"best_available": {"quantity": 1}})
        self.assertEqual(missing.status, 404)

    def test_seat_map_etag(self):
        """GET seats carries an ETag; If-None-Match answers 304 until a seat changes."""
        event_id = self.create_event()
        path = "/v1/events/%s/seats" % event_id
        first = self.server.request("GET", path)
        etag = first.header("etag")
        self.assertTrue(etag)
        same = self.server.request("GET", path, headers={"If-None-Match": etag})
        self.assertEqual(same.status, 304)
        self.assertEqual(same.body, b"")
        self.assertEqual(self.hold(event_id, self.session(),
                                   {"best_available": {"quantity": 1}}).status, 201)
        changed = self.server.request("GET", path, headers={"If-None-Match": etag})
        self.assertEqual(changed.status, 200)
        self.assertNotEqual(changed.header("etag"), etag)
        for answer in (first, same, changed):
            self.assertEqual(answer.header("cache-control"),
                             "public, max-age=1, stale-while-revalidate=5")

    def test_public_event_reads_are_cacheable(self):
        """Events and the list carry a validator of their bytes and a short public max-age.

        A CDN may keep them 5 s and serve them stale 30 s more while it asks again; a client
        holding the same bytes gets 304, and an operator's change gives a new tag.
        """
        event_id = self.create_event()
        rule = "public, max-age=5, stale-while-revalidate=30"
        for path in ("/v1/events/%s" % event_id, "/v1/events"):
            first = self.server.request("GET", path)
            self.assertEqual(first.status, 200, first.body)
            etag = first.header("etag")
            self.assertRegex(etag or "", r'^"[0-9a-f]{32}"$')
            self.assertEqual(first.header("cache-control"), rule)
            same = self.server.request("GET", path, headers={"If-None-Match": etag})
            self.assertEqual((same.status, same.body), (304, b""))
            self.assertEqual(same.header("etag"), etag)
            self.assertEqual(same.header("cache-control"), rule)
            weak = self.server.request("GET", path, headers={"If-None-Match": "W/" + etag})
            self.assertEqual(weak.status, 304)
        listed = self.server.request("GET", "/v1/events").header("etag")
        paused = self.server.request("PATCH", "/v1/events/%s/queue" % event_id,
                                     {"paused": True}, headers=self.server.operator())
        self.assertEqual(paused.status, 200, paused.body)
        after = self.server.request("GET", "/v1/events", headers={"If-None-Match": listed})
        self.assertEqual(after.status, 200)
        self.assertNotEqual(after.header("etag"), listed)

    def test_metrics_count_holds(self):
        """/metrics has hold counters and per-event seat gauges."""
        event_id = self.create_event()
        self.assertEqual(self.hold(event_id, self.session(),
                                   {"best_available": {"quantity": 2}}).status, 201)
        text = self.server.request("GET", "/metrics").body.decode()
        self.assertRegex(text, r"boxoffice_holds_created_total [1-9]")
        self.assertIn('boxoffice_seats_held{event_id="%s"} 2' % event_id, text)


class HoldsRestartTest(unittest.TestCase):
    def test_acknowledged_hold_survives_kill_and_released_stays_released(self):
        """kill -9 keeps an acknowledged hold and does not bring back a released one."""
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-holds-")
        try:
            server = Server(data_dir=data_dir)
            event = server.request("POST", "/v1/events", small_event(queue={"enabled": False}),
                                   headers=server.operator()).json()["id"]
            token = server.request("POST", "/v1/sessions", {}).json()["session_token"]
            auth = {"Authorization": "Bearer " + token}
            kept = server.request("POST", "/v1/events/%s/holds" % event,
                                  {"seats": [{"id": "201-A-1", "version": 0}]}, headers=auth)
            gone = server.request("POST", "/v1/events/%s/holds" % event,
                                  {"seats": [{"id": "201-A-2", "version": 0}]}, headers=auth)
            self.assertEqual((kept.status, gone.status), (201, 201))
            self.assertEqual(server.request("DELETE", "/v1/holds/" + gone.json()["hold_id"],
                                            headers=auth).status, 204)
            server.stop(sig=signal.SIGKILL)
            server = Server(data_dir=data_dir)
            try:
                got = server.request("GET", "/v1/holds/" + kept.json()["hold_id"], headers=auth)
                self.assertEqual(got.status, 200, got.body)
                self.assertEqual(got.json()["status"], "held")
                seats = {s["id"]: s for s in server.request(
                    "GET", "/v1/events/%s/seats" % event).json()["seats"]}
                self.assertEqual(seats["201-A-1"]["status"], "held")
                self.assertEqual(seats["201-A-1"]["version"], 1)
                self.assertEqual(seats["201-A-2"]["status"], "available")
            finally:
                server.stop()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
