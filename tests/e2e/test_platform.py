"""End-to-end: the server core, events and seat maps, against the real binary."""

import json
import os
import signal
import socket
import subprocess
import unittest

from harness import Server, small_event, wait_for


class SharedServerTest(unittest.TestCase):
    """One server for all the tests of a class; they must not depend on each other's data."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()


class ServerCoreTest(SharedServerTest):
    def assert_error(self, response, status, code):
        self.assertEqual(response.status, status, response.body)
        body = response.json()
        self.assertEqual(body["error"]["code"], code)
        self.assertIsInstance(body["error"]["message"], str)
        self.assertIsInstance(body["error"]["details"], dict)

    def test_health_ready_and_metrics(self):
        """/healthz and /readyz answer 200; /metrics counts requests per route and status."""
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)
        self.assertEqual(self.server.request("GET", "/readyz").status, 200)
        metrics = self.server.request("GET", "/metrics")
        self.assertEqual(metrics.status, 200)
        self.assertIn("text/plain", metrics.header("content-type"))
        text = metrics.body.decode()
        self.assertRegex(text, r'boxoffice_http_requests_total\{[^}]*route="/healthz"[^}]*\} \d+')
        self.assertIn("boxoffice_http_request_duration_seconds_bucket", text)
        self.assertRegex(text, r"boxoffice_ledger_commits_total \d+")

    def test_request_id_generated_and_echoed(self):
        """Every response carries X-Request-Id, echoing the client's when it sent one."""
        generated = self.server.request("GET", "/healthz")
        self.assertTrue(generated.header("x-request-id"))
        echoed = self.server.request("GET", "/nope", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(echoed.header("x-request-id"), "abc-123")

    def test_unknown_route_and_wrong_method(self):
        """404 for an unknown path; 405 with Allow for a known path under another method."""
        self.assert_error(self.server.request("GET", "/v1/nothing"), 404, "not_found")
        response = self.server.request("DELETE", "/v1/events")
        self.assert_error(response, 405, "method_not_allowed")
        self.assertIn("GET", response.header("allow"))
        self.assertIn("POST", response.header("allow"))

    def test_body_over_limit_is_413_before_reading(self):
        """A declared Content-Length above 1 MiB is refused with 413 without sending the body."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nContent-Length: 2000000\r\n\r\n")
            reply = sock.recv(65536).decode(errors="replace")
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply)
        self.assertIn("payload_too_large", reply)

    def test_openapi_served(self):
        """The binary serves its own OpenAPI document."""
        response = self.server.request("GET", "/v1/openapi.yaml")
        self.assertEqual(response.status, 200)
        self.assertIn(b"openapi: 3", response.body)


class ClientAddressTest(unittest.TestCase):
    def client_logged(self, server, request_id):
        def client():
            for line in list(server.stderr_lines):
                if request_id in line:
                    entry = json.loads(line)
                    if entry.get("msg") == "request":
                        return entry["client"]
            return None

        return wait_for(client, "the access log line of " + request_id)

    def test_forwarded_for_only_from_trusted_proxies(self):
        """X-Forwarded-For names the client only when the peer is a trusted proxy."""
        headers = {"X-Forwarded-For": "203.0.113.9", "X-Request-Id": "xff-trusted"}
        with Server(extra_args=["--access-log"], log_level="info",
                    env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.0/8"}) as trusted:
            trusted.request("GET", "/healthz", headers=headers)
            self.assertEqual(self.client_logged(trusted, "xff-trusted"), "203.0.113.9")
        headers["X-Request-Id"] = "xff-untrusted"
        with Server(extra_args=["--access-log"], log_level="info") as untrusted:
            untrusted.request("GET", "/healthz", headers=headers)
            self.assertEqual(self.client_logged(untrusted, "xff-untrusted"), "127.0.0.1")

    def test_help_for_every_subcommand(self):
        """`boxoffice --help` and `boxoffice serve --help` describe the options and exit 0."""
        import subprocess
        from harness import BINARY
        top = subprocess.run([BINARY, "--help"], capture_output=True, text=True)
        self.assertEqual(top.returncode, 0)
        self.assertIn("serve", top.stdout)
        serve = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True)
        self.assertEqual(serve.returncode, 0)
        for option in ("--listen", "--data-dir", "--trusted-proxies", "--body-limit-bytes"):
            self.assertIn(option, serve.stdout)
        bad = subprocess.run([BINARY, "serve", "--listen", "nonsense"], capture_output=True,
                             text=True)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("invalid_listen", bad.stderr)


class EventsTest(SharedServerTest):
    def create(self, event=None, headers=None):
        return self.server.request("POST", "/v1/events", body=event or small_event(),
                                   headers=headers if headers is not None
                                   else self.server.operator())

    def test_create_requires_operator_key(self):
        """Creating an event without or with a wrong operator key is 401."""
        self.assertEqual(self.create(headers={}).status, 401)
        self.assertEqual(self.create(headers={"Authorization": "Bearer wrong"}).status, 401)

    def test_create_get_and_list(self):
        """A created event is returned with id and seat_count, and can be read and listed."""
        created = self.create()
        self.assertEqual(created.status, 201, created.body)
        event = created.json()
        self.assertTrue(event["id"].startswith("evt_"))
        self.assertEqual(event["seat_count"], 35)
        self.assertEqual(event["currency"], "USD")
        self.assertIsNone(event["onsale_at"])
        fetched = self.server.request("GET", "/v1/events/" + event["id"])
        self.assertEqual(fetched.status, 200)
        self.assertEqual(fetched.json(), event)
        listed = self.server.request("GET", "/v1/events?limit=200").json()
        self.assertIn(event["id"], [item["id"] for item in listed["items"]])
        self.assertEqual(self.server.request("GET", "/v1/events/evt_missing").status, 404)

    def test_pagination(self):
        """Pages of `limit` items follow next_cursor to the end without repeats."""
        ids = {self.create().json()["id"] for _ in range(5)}
        seen, cursor = [], None
        while True:
            path = "/v1/events?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = self.server.request("GET", path).json()
            self.assertLessEqual(len(page["items"]), 2)
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue(ids <= set(seen))
        self.assertEqual(self.server.request("GET", "/v1/events?limit=0").status, 400)
        self.assertEqual(self.server.request("GET", "/v1/events?cursor=%21%21").status, 400)

    def test_validation_errors(self):
        """Rule-breaking definitions are 422 with the field path; malformed JSON is 400."""
        bad = small_event()
        bad["sections"][1]["tier"] = "Z"
        response = self.create(bad)
        self.assertEqual(response.status, 422)
        self.assertEqual(response.json()["error"]["details"]["field"], "sections[1].tier")
        no_name = small_event()
        del no_name["name"]
        self.assertEqual(self.create(no_name).json()["error"]["details"]["field"], "name")
        malformed = self.server.request("POST", "/v1/events", raw_body=b"{not json",
                                        headers=self.server.operator())
        self.assertEqual(malformed.status, 400)
        self.assertEqual(malformed.json()["error"]["code"], "malformed_json")

    def test_times_outside_the_bounds_are_422(self):
        """Times a nanosecond clock cannot hold, or before 1970, are 422 naming the field, never
        stored as another instant (2262-04-12 used to wrap to 1677: on sale at once)."""
        for text in ("0000-01-01T00:00:00Z", "1500-06-01T00:00:00Z", "2262-04-12T00:00:00Z",
                     "9999-12-31T23:59:59Z"):
            for field in ("onsale_at", "starts_at"):
                response = self.create(small_event(**{field: text}))
                self.assertEqual(response.status, 422, (field, text, response.body))
                error = response.json()["error"]
                self.assertEqual(error["code"], "validation_failed")
                self.assertEqual(error["details"]["field"], field, text)
        latest = self.create(small_event(onsale_at="2261-12-31T23:59:59Z",
                                         queue={"enabled": False}))
        self.assertEqual(latest.status, 201, latest.body)
        self.assertEqual(latest.json()["onsale_at"], "2261-12-31T23:59:59Z")
        held = self.server.request("POST", "/v1/sessions", body={})
        auth = {"Authorization": "Bearer " + held.json()["session_token"]}
        hold = self.server.request("POST", "/v1/events/%s/holds" % latest.json()["id"],
                                   body={"best_available": {"quantity": 1}}, headers=auth)
        self.assertEqual(hold.status, 403, hold.body)
        self.assertEqual(hold.json()["error"]["code"], "not_on_sale")

    def test_seat_map_and_filters(self):
        """The seat map lists every seat available at version 0, filtered by section and status."""
        event = self.create().json()
        seats = self.server.request("GET", f"/v1/events/{event['id']}/seats").json()
        self.assertEqual(seats["event_id"], event["id"])
        self.assertEqual(len(seats["seats"]), 35)
        first = seats["seats"][0]
        self.assertEqual(first, {"id": "101-A-1", "section": "101", "row": "A", "number": 1,
                                 "tier": "A", "price_cents": 25000, "accessible": True,
                                 "status": "available", "version": 0})
        section = self.server.request("GET", f"/v1/events/{event['id']}/seats?section=201").json()
        self.assertEqual([s["id"] for s in section["seats"]],
                         ["201-A-1", "201-A-2", "201-A-3", "201-A-4", "201-A-5"])
        held = self.server.request("GET", f"/v1/events/{event['id']}/seats?status=held").json()
        self.assertEqual(held["seats"], [])
        self.assertEqual(
            self.server.request("GET", f"/v1/events/{event['id']}/seats?status=gone").status, 400)


class SessionsTest(SharedServerTest):
    def test_guest_session(self):
        """POST /v1/sessions with {} gives a guest session token."""
        response = self.server.request("POST", "/v1/sessions", body={})
        self.assertEqual(response.status, 201)
        body = response.json()
        self.assertTrue(body["session_token"])
        self.assertIsNone(body["customer_id"])

    def test_customer_register_and_login(self):
        """Register, refuse a duplicate or weak password, then log in with the right password."""
        credentials = {"email": "Fan@Example.com", "password": "a long passphrase 42"}
        created = self.server.request("POST", "/v1/customers", body=credentials)
        self.assertEqual(created.status, 201, created.body)
        self.assertEqual(created.json()["email"], "fan@example.com")
        duplicate = self.server.request(
            "POST", "/v1/customers", body={"email": "fan@example.com", "password": "x" * 9 + "yz"})
        self.assertEqual(duplicate.status, 409)
        self.assertEqual(duplicate.json()["error"]["code"], "email_taken")
        weak = self.server.request("POST", "/v1/customers",
                                   body={"email": "other@example.com", "password": "short"})
        self.assertEqual(weak.status, 422)
        self.assertEqual(weak.json()["error"]["code"], "weak_password")
        login = self.server.request("POST", "/v1/sessions", body=credentials)
        self.assertEqual(login.status, 201, login.body)
        self.assertEqual(login.json()["customer_id"], created.json()["customer_id"])
        wrong = self.server.request("POST", "/v1/sessions",
                                    body={"email": "fan@example.com", "password": "wrong password"})
        self.assertEqual(wrong.status, 401)
        self.assertEqual(wrong.json()["error"]["code"], "invalid_credentials")


class LifecycleTest(unittest.TestCase):
    def test_restart_keeps_events_and_sigterm_exits_zero(self):
        """An event survives a restart (graceful and kill -9) and SIGTERM exits 0."""
        first = Server()
        try:
            event = first.request("POST", "/v1/events", body=small_event(),
                                  headers=first.operator()).json()
            self.assertEqual(first.stop(signal.SIGTERM), 0)
            second = Server(data_dir=first.data_dir)
            self.assertEqual(second.request("GET", "/v1/events/" + event["id"]).json(), event)
            other = second.request("POST", "/v1/events", body=small_event(name="Night 2"),
                                   headers=second.operator()).json()
            second.stop(signal.SIGKILL)
            third = Server(data_dir=first.data_dir)
            self.assertEqual(third.request("GET", "/v1/events/" + other["id"]).status, 200)
            third.stop()
        finally:
            first.cleanup()

    def test_generated_admin_key_printed_once_and_kept(self):
        """Without BOXOFFICE_ADMIN_KEY a key is generated, printed once, stored and reused."""
        first = Server(admin_key=None)
        try:
            printed = [l for l in first.stdout_lines if "operator key" in l]
            self.assertEqual(len(printed), 1)
            key = printed[0].strip().rsplit(" ", 1)[-1]
            with open(os.path.join(first.data_dir, "admin.key")) as stored:
                self.assertEqual(stored.read().strip(), key)
            self.assertEqual(os.stat(os.path.join(first.data_dir, "admin.key")).st_mode & 0o777,
                             0o600)
            first.stop()
            second = Server(data_dir=first.data_dir, admin_key=None)
            self.assertFalse([l for l in second.stdout_lines if "operator key" in l])
            created = second.request("POST", "/v1/events", body=small_event(),
                                     headers={"Authorization": "Bearer " + key})
            self.assertEqual(created.status, 201)
            second.stop()
        finally:
            first.cleanup()

    def test_session_token_survives_restart(self):
        """A session token signed before a restart still authenticates after it."""
        first = Server()
        try:
            token = first.request("POST", "/v1/sessions", body={}).json()["session_token"]
            first.stop()
            second = Server(data_dir=first.data_dir)
            # /v1/sessions/current reflects the session the token names.
            me = second.request("GET", "/v1/sessions/current",
                                headers={"Authorization": "Bearer " + token})
            self.assertEqual(me.status, 200, me.body)
            bad = second.request("GET", "/v1/sessions/current",
                                 headers={"Authorization": "Bearer " + token[:-2] + "xx"})
            self.assertEqual(bad.status, 401)
            second.stop()
        finally:
            first.cleanup()

    def test_demo_event(self):
        """--demo creates a ~20,000-seat arena with the queue on, once."""
        with Server(extra_args=["--demo"]) as server:
            line = [l for l in server.stdout_lines if "demo event at" in l]
            self.assertEqual(len(line), 1)
            event_id = line[0].strip().rsplit("/", 1)[-1]
            event = server.request("GET", "/v1/events/" + event_id).json()
            self.assertGreaterEqual(event["seat_count"], 19000)
            self.assertLessEqual(event["seat_count"], 21000)
            self.assertTrue(event["queue"]["enabled"])
            self.assertGreaterEqual(len(event["price_tiers"]), 3)
            seats = server.request("GET", f"/v1/events/{event_id}/seats").json()["seats"]
            self.assertTrue(any(seat["accessible"] for seat in seats))
            server.stop()
            again = Server(data_dir=server.data_dir, extra_args=["--demo"])
            self.assertEqual(
                len(again.request("GET", "/v1/events").json()["items"]), 1)
            again.stop()


class MetricsExpositionTest(unittest.TestCase):
    def test_promtool_accepts_metrics_after_traffic(self):
        """After a queue join, holds, an order and reads, Prometheus's own promtool finds nothing
        to object to in /metrics, and every per-event series is labelled event_id."""
        with Server(extra_args=["--demo"]) as server:
            event_id = server.request("POST", "/v1/events", headers=server.operator(),
                                      body=small_event(queue={"enabled": False})).json()["id"]
            queued_id = server.request("POST", "/v1/events", headers=server.operator(),
                                       body=small_event(name="Queued")).json()["id"]
            fan = {"Authorization": "Bearer " + server.request(
                "POST", "/v1/sessions", body={}).json()["session_token"]}
            self.assertEqual(server.request("POST", "/v1/events/%s/queue" % queued_id,
                                            headers=fan).status, 201)
            hold = server.request("POST", "/v1/events/%s/holds" % event_id, headers=fan,
                                  body={"best_available": {"quantity": 2}})
            self.assertEqual(hold.status, 201, hold.body)
            order = server.request("POST", "/v1/orders", headers=dict(fan, **{
                "Idempotency-Key": "metrics-1"}), body={
                "hold_id": hold.json()["hold_id"], "email": "fan@example.com",
                "payment": {"token": "tok_visa"}})
            self.assertEqual(order.status, 201, order.body)
            self.assertEqual(server.request("GET", "/v1/events/%s/seats" % event_id).status, 200)
            self.assertEqual(server.request("GET", "/v1/nowhere").status, 404)
            text = server.request("GET", "/metrics").body
            checked = subprocess.run(["promtool", "check", "metrics"], input=text,
                                     capture_output=True, timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertEqual(checked.stdout + checked.stderr, b"")
        rendered = text.decode()
        for family in ("boxoffice_seats_available", "boxoffice_queue_joined_total"):
            self.assertRegex(rendered, r'\n%s\{event_id="%s"\} ' % (family, queued_id))
        self.assertNotRegex(rendered, r'\{event=')


if __name__ == "__main__":
    unittest.main()
