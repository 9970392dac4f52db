"""End-to-end: the ALTCHA proof of work, the risk score and telemetry, against the real binary."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, Server, small_event

CHROME = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-CH-UA": '"Chromium";v="118", "Google Chrome";v="118", "Not=A?Brand";v="99"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"Windows"',
}
SCRIPT = {"User-Agent": "python-requests/2.31.0"}


def solve(challenge):
    """What an ALTCHA widget does: search [0, maxnumber] for sha256(salt + number)."""
    for number in range(challenge["maxnumber"] + 1):
        digest = hashlib.sha256((challenge["salt"] + str(number)).encode()).hexdigest()
        if digest == challenge["challenge"]:
            payload = {"algorithm": challenge["algorithm"], "challenge": challenge["challenge"],
                       "number": number, "salt": challenge["salt"],
                       "signature": challenge["signature"]}
            return base64.b64encode(json.dumps(payload).encode()).decode()
    raise AssertionError("no number solves the challenge")


class ChallengeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No allowlist: loopback is a trusted proxy and X-Forwarded-For names each client, so the
        # score and the limits see what they would see from real clients.
        cls.server = Server(allowlist=None, env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.0/8"})
        cls.address = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def client(self, headers):
        """Headers of a new client at its own address, with a new session."""
        ChallengeTest.address += 1
        headers = dict(headers, **{"X-Forwarded-For": "198.18.7.%d" % ChallengeTest.address})
        session = self.server.request("POST", "/v1/sessions", body={}, headers=headers)
        self.assertEqual(session.status, 201, session.body)
        headers["Authorization"] = "Bearer " + session.json()["session_token"]
        return headers

    def event(self, mode):
        created = self.server.request("POST", "/v1/events", headers=self.server.operator(),
                                      body=small_event(defense={"challenge": mode}))
        self.assertEqual(created.status, 201, created.body)
        return created.json()["id"]

    def join(self, event_id, headers):
        return self.server.request("POST", "/v1/events/%s/queue" % event_id, headers=headers)

    def test_always_event_demands_a_solved_challenge_on_join(self):
        """An `always` event answers 403 challenge_required; the solution is good exactly once."""
        event_id = self.event("always")
        fan = self.client(CHROME)
        refused = self.join(event_id, fan)
        self.assertEqual(refused.status, 403, refused.body)
        error = refused.json()["error"]
        self.assertEqual(error["code"], "challenge_required")
        challenge = error["details"]["challenge"]
        self.assertEqual(challenge["algorithm"], "SHA-256")
        self.assertRegex(challenge["salt"], r"^[0-9a-f]+\?expires=\d+$")
        self.assertRegex(challenge["signature"], r"^[0-9a-f]{64}$")

        solution = solve(challenge)
        joined = self.join(event_id, dict(fan, **{"X-Altcha": solution}))
        self.assertEqual(joined.status, 201, joined.body)
        # Holds of an `always` event need their own solution too.
        hold = self.server.request("POST", "/v1/events/%s/holds" % event_id, headers=fan,
                                   body={"seats": [{"id": "101-A-1", "version": 0}]})
        self.assertEqual(hold.status, 403, hold.body)
        self.assertEqual(hold.json()["error"]["code"], "challenge_required")

        # The same solution from another fan is a replay.
        other = self.client(CHROME)
        replay = self.join(event_id, dict(other, **{"X-Altcha": solution}))
        self.assertEqual(replay.status, 403)
        self.assertEqual(replay.json()["error"]["details"]["reason"], "replayed")
        # A solution with the wrong number fails and hands out a fresh challenge.
        payload = json.loads(base64.b64decode(solve(replay.json()["error"]["details"]["challenge"])))
        payload["number"] += 1
        wrong = self.join(event_id, dict(other, **{
            "X-Altcha": base64.b64encode(json.dumps(payload).encode()).decode()}))
        self.assertEqual(wrong.status, 403)
        self.assertEqual(wrong.json()["error"]["details"]["reason"], "wrong_number")
        # A challenge fetched from GET /v1/challenge works as well.
        fetched = self.server.request("GET", "/v1/challenge", headers=CHROME)
        self.assertEqual(fetched.status, 200)
        self.assertEqual(fetched.header("cache-control"), "no-store")
        self.assertEqual(self.join(event_id, dict(other, **{
            "X-Altcha": solve(fetched.json())})).status, 201)

        stats = self.server.request("GET", "/v1/events/%s/stats" % event_id,
                                    headers=self.server.operator()).json()["defense"]
        self.assertEqual(stats["challenged"], 2)  # the first join and the hold
        self.assertEqual(stats["challenge_passed"], 2)
        self.assertEqual(stats["challenge_failed"], 2)
        self.assertEqual(stats["allowed"], 0)  # operator calls, such as this one, do not count
        metrics = self.server.request("GET", "/metrics").body.decode()
        for decision in ("challenged", "challenge_passed", "challenge_failed"):
            self.assertRegex(metrics, r'boxoffice_defense_decisions_total\{route_class='
                                      r'"queue_join",decision="%s"\} [1-9]' % decision)

    def test_risk_event_challenges_scripts_and_lets_browsers_in(self):
        """Under `risk`, a browser joins at once; a script that opens session after session on
        one device must solve a harder challenge; a script whose only fault is its headers is let
        through.

        The bot here is told by a count (sessions per device), not by its rhythm: how regular a
        client's requests look to the server depends on how busy the machine is. The metronome
        is scored on a fake clock in ScreenTest.RiskChallengesScriptsNotBrowsers."""
        event_id = self.event("risk")
        browser = self.client(CHROME)
        telemetry = self.server.request("POST", "/v1/telemetry", headers=browser, body={
            "pointer_events": 35, "key_events": 4, "first_interaction_ms": 1800})
        self.assertEqual(telemetry.status, 204, telemetry.body)
        self.assertEqual(self.join(event_id, browser).status, 201)

        honest = self.client(SCRIPT)
        self.assertEqual(self.join(event_id, honest).status, 201)

        farm = dict(SCRIPT, **{"X-Device-Id": "dev-farm-e2e"})
        for _ in range(5):  # sessions on one device: what no person opens
            sibling = self.client(farm)
            self.assertEqual(self.server.request("GET", "/v1/events/" + event_id,
                                                 headers=sibling).status, 200)
        script = self.client(farm)
        refused = self.join(event_id, script)
        self.assertEqual(refused.status, 403, refused.body)
        challenge = refused.json()["error"]["details"]["challenge"]
        self.assertGreater(challenge["maxnumber"], 50000)
        self.assertEqual(self.join(event_id, dict(script, **{"X-Altcha": solve(challenge)})).status,
                         201)

        off_event = self.event("off")
        self.assertEqual(self.join(off_event, self.client(SCRIPT)).status, 201)

    def test_telemetry_validation(self):
        """Telemetry needs a session and sane counts."""
        fan = self.client(CHROME)
        self.assertEqual(self.server.request("POST", "/v1/telemetry", headers=CHROME,
                                             body={"pointer_events": 1}).status, 401)
        bad = self.server.request("POST", "/v1/telemetry", headers=fan,
                                  body={"pointer_events": -1})
        self.assertEqual(bad.status, 422)
        self.assertEqual(bad.json()["error"]["details"]["field"], "pointer_events")
        self.assertEqual(self.server.request("POST", "/v1/telemetry", headers=fan,
                                             body={"first_interaction_ms": None}).status, 204)


class RiskModelFileTest(unittest.TestCase):
    def test_data_dir_model_replaces_the_default(self):
        """<data-dir>/risk-model.json replaces the built-in model; a broken one stops the start."""
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-model-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        model_path = os.path.join(data_dir, "risk-model.json")
        with open(model_path, "w") as model:
            # Everyone scores sigmoid(8) = 0.9997: challenged, never blocked.
            json.dump({"version": "paranoid-1", "bias": 8, "weights": {},
                       "thresholds": {"challenge": 0.5, "block": 0.99999}}, model)
        with Server(data_dir=data_dir, allowlist=None) as server:
            created = server.request("POST", "/v1/events", headers=server.operator(),
                                     body=small_event())
            session = server.request("POST", "/v1/sessions", body={}, headers=CHROME).json()
            fan = dict(CHROME, Authorization="Bearer " + session["session_token"])
            joined = server.request("POST", "/v1/events/%s/queue" % created.json()["id"],
                                    headers=fan)
            self.assertEqual(joined.status, 403, joined.body)
            self.assertEqual(joined.json()["error"]["code"], "challenge_required")

        with open(model_path, "w") as model:
            model.write('{"version": "x", "bias": 0, "weights": {"shoe_size": 1}}')
        env = dict(os.environ, BOXOFFICE_ADMIN_KEY="k" * 24)
        broken = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                 data_dir], env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(broken.returncode, 0)
        self.assertIn("shoe_size", broken.stderr)


if __name__ == "__main__":
    unittest.main()
