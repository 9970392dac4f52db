"""End-to-end: the decision log route, and `boxoffice botsim` training and evaluating the risk model
against the real binary (small and fast; bench/botsim.sh runs the full-size evaluation)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import ADMIN_KEY, BINARY, Server, small_event

CHROME = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-CH-UA": '"Chromium";v="118", "Google Chrome";v="118", "Not=A?Brand";v="99"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"Windows"',
}
FEATURES = {"ua_automation", "ua_missing", "ua_other", "accept_language_missing",
            "client_hints_inconsistent", "client_hints_missing", "timing_regular",
            "address_velocity", "prefix_velocity", "device_sessions", "telemetry_missing",
            "interaction_missing", "interaction_instant", "browser_without_telemetry"}


class DecisionsRouteTest(unittest.TestCase):
    def test_scored_requests_are_listed_for_the_operator_page_by_page(self):
        """Queue joins are recorded with request id, client, features and decision; unscored
        requests are not; the route needs the operator key and pages by sequence number."""
        with Server(allowlist=None, env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.0/8"}) as server:
            created = server.request("POST", "/v1/events", headers=server.operator(),
                                     body=small_event())
            event_id = created.json()["id"]
            for n in range(3):
                fan = dict(CHROME, **{"X-Forwarded-For": "198.18.9.%d" % (n + 1)})
                token = server.request("POST", "/v1/sessions", body={},
                                       headers=fan).json()["session_token"]
                fan["Authorization"] = "Bearer " + token
                self.assertEqual(server.request("GET", "/v1/events/" + event_id,
                                                headers=fan).status, 200)
                joined = server.request("POST", "/v1/events/%s/queue" % event_id,
                                        headers=dict(fan, **{"X-Request-Id": "e2e-join-%d" % n}))
                self.assertEqual(joined.status, 201, joined.body)

            self.assertEqual(server.request("GET", "/v1/defense/decisions").status, 401)
            self.assertEqual(server.request("GET", "/v1/defense/decisions?limit=0",
                                            headers=server.operator()).status, 400)
            first = server.request("GET", "/v1/defense/decisions?limit=2",
                                   headers=server.operator())
            self.assertEqual(first.status, 200, first.body)
            page = first.json()
            self.assertEqual(page["model_version"], "default-3")
            self.assertEqual(page["latest"], 3)  # the joins only: reads are not scored
            self.assertEqual(page["oldest"], 1)
            self.assertEqual(page["capacity"], 65536)
            self.assertEqual([item["request_id"] for item in page["items"]],
                             ["e2e-join-0", "e2e-join-1"])
            item = page["items"][0]
            self.assertEqual(item["sequence"], 1)
            self.assertEqual(item["event_id"], event_id)
            self.assertEqual(item["client"], "198.18.9.1")
            self.assertEqual(item["route_class"], "queue_join")
            self.assertEqual(item["decision"], "allowed")
            self.assertEqual(set(item["features"]), FEATURES)
            self.assertEqual(item["features"]["telemetry_missing"], 1)
            self.assertEqual(item["features"]["browser_without_telemetry"], 1)
            self.assertLess(item["score"], 0.5)
            self.assertRegex(item["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(page["next_after"], 2)

            rest = server.request("GET", "/v1/defense/decisions?after=2&limit=100",
                                  headers=server.operator()).json()
            self.assertEqual([item["request_id"] for item in rest["items"]], ["e2e-join-2"])
            self.assertEqual(rest["next_after"], 3)
            done = server.request("GET", "/v1/defense/decisions?after=3",
                                  headers=server.operator()).json()
            self.assertEqual(done["items"], [])
            self.assertEqual(done["next_after"], 3)


class BotsimTest(unittest.TestCase):
    def botsim(self, server, seed, report, *extra):
        env = dict(os.environ, BOXOFFICE_ADMIN_KEY=ADMIN_KEY)
        done = subprocess.run(
            [BINARY, "botsim", "--url", "http://127.0.0.1:%d" % server.port, "--humans", "100",
             "--bots", "15", "--seed", str(seed), "--time-scale", "0.1", "--concurrency", "100",
             "--report", report, *extra],
            env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        with open(report) as out:
            return json.load(out), done.stdout

    def test_the_default_model_lets_every_fan_through(self):
        """Under the default model, among every kind of bot, no simulated fan is blocked or
        challenged (the verdicts on fans rest on headers and telemetry; a busy machine only makes
        their rhythm less regular)."""
        with Server(allowlist=None, log_level="info",
                    env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.1/32"}) as server:
            report, _ = self.botsim(server, 11, os.path.join(server.data_dir, "report.json"))
        self.assertEqual(report["run"]["model_version"], "default-3")
        self.assertEqual(report["run"]["bot_kinds"], ["naive", "header_spoofing", "fast_address",
                                                      "rotating", "headless"])
        self.assertEqual(set(report["kinds"]), {"human", "naive", "header_spoofing",
                                                "fast_address", "rotating", "headless"})
        humans = report["kinds"]["human"]
        self.assertEqual(humans["agents"], 100)
        self.assertEqual(humans["blocked"], 0)
        # The default never challenges a browser with consistent headers and telemetry.
        self.assertEqual(humans["challenged"], 0)
        self.assertEqual(humans["stopped"], 0, humans)
        self.assertGreater(report["run"]["scored_decisions"], 200)
        self.assertEqual(report["targets"]["humans_blocked"]["met"], True)

    def test_train_then_evaluate_the_trained_model(self):
        """botsim --train writes a model the server loads at its next start; under it no simulated
        fan is blocked and every naive script is stopped.

        Trained on fans and naive scripts only: a naive script is told apart by its headers (an
        HTTP library, no Accept-Language, no telemetry), which no fan shares, so the verdict holds
        however busy the machine is. Among all kinds the model also leans on timing, which a
        loaded machine blurs; bench/botsim.sh measures the whole population's targets."""
        data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-botsim-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        server_args = dict(data_dir=data_dir, allowlist=None, log_level="info",
                           env={"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.1/32"})
        with Server(**server_args) as server:
            first, printed = self.botsim(server, 11, os.path.join(data_dir, "first.json"),
                                         "--kinds", "naive", "--train", "--data-dir", data_dir)
        self.assertEqual(first["run"]["model_version"], "default-3")
        self.assertEqual(first["run"]["bot_kinds"], ["naive"])
        self.assertEqual(set(first["kinds"]), {"human", "naive"})
        self.assertEqual(first["kinds"]["human"]["blocked"], 0)
        self.assertNotIn("header_spoofing_stopped", first["targets"])
        self.assertIn("trained botsim-", printed)

        with open(os.path.join(data_dir, "risk-model.json")) as model_file:
            model = json.load(model_file)
        self.assertRegex(model["version"], r"^botsim-\d{8}-11$")
        self.assertEqual(set(model["weights"]), FEATURES)
        self.assertGreater(model["weights"]["ua_automation"], 0)
        self.assertLess(model["thresholds"]["challenge"], model["thresholds"]["block"])
        self.assertEqual(model["trained"]["training_set"]["humans_blocked"], 0)
        self.assertLessEqual(model["trained"]["training_set"]["human_senders_challenged"], 1)
        self.assertEqual(model["trained"]["bot_kinds"], ["naive"])

        with Server(**server_args) as server:
            second, _ = self.botsim(server, 12, os.path.join(data_dir, "second.json"),
                                    "--kinds", "naive")
            loaded = [json.loads(line) for line in server.stderr_lines
                      if '"risk_model"' in line]
        self.assertEqual([line["version"] for line in loaded], [model["version"]])
        self.assertEqual(second["run"]["model_version"], model["version"])
        self.assertEqual(second["kinds"]["human"]["blocked"], 0)
        self.assertEqual(second["kinds"]["human"]["stopped"], 0, second["kinds"]["human"])
        naive = second["kinds"]["naive"]
        self.assertEqual(naive["agents"], 15)
        self.assertEqual(naive["stopped"], naive["agents"], naive)
        self.assertEqual(naive["let_through"], 0)


if __name__ == "__main__":
    unittest.main()
