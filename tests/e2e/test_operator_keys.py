"""End-to-end: viewer keys and the audit log on the real binary (docs/api.md, "Operator keys
and the audit log"). A viewer key reads the operator's read-only routes and is refused every
control with 403 insufficient_scope; a revoked key is 401; every control the operator key makes
is in GET /v1/audit with its actor and states, and the log, the live keys and the revocations
all survive a restart on the same data dir."""

import shutil
import tempfile
import unittest

from harness import Server, small_event


def bearer(key):
    return {"Authorization": "Bearer " + key}


class OperatorKeysTest(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-operator-keys-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    def start(self):
        server = Server(data_dir=self.data_dir)
        self.addCleanup(server.cleanup)
        return server

    def mint_viewer(self, server, label):
        minted = server.request("POST", "/v1/operator-keys", {"scope": "viewer", "label": label},
                                headers=server.operator())
        self.assertEqual(minted.status, 201, minted.body)
        key = minted.json()
        self.assertTrue(key["id"].startswith("opk_"))
        self.assertEqual(key["scope"], "viewer")
        self.assertEqual(key["label"], label)
        return key

    def assert_error(self, response, status, code):
        self.assertEqual(response.status, status, response.body)
        self.assertEqual(response.json()["error"]["code"], code, response.body)

    def audit(self, server, key=None, query=""):
        page = server.request("GET", "/v1/audit" + query,
                              headers=bearer(key) if key else server.operator())
        self.assertEqual(page.status, 200, page.body)
        return page.json()

    def test_viewer_reads_is_refused_controls_and_the_audit_survives_a_restart(self):
        """Viewer: reads, 403 on controls, 401 once revoked; the PATCH is audited, across a
        restart."""
        server = self.start()
        event = server.request("POST", "/v1/events", small_event(),
                               headers=server.operator()).json()
        viewer = self.mint_viewer(server, "wall screen")
        kept = self.mint_viewer(server, "lobby")

        # The key is shown once: the list has the facts, never the key.
        listed = server.request("GET", "/v1/operator-keys", headers=server.operator())
        self.assertEqual(listed.status, 200, listed.body)
        self.assertNotIn(viewer["key"].encode(), listed.body)
        self.assertEqual([item["id"] for item in listed.json()["items"]],
                         [viewer["id"], kept["id"]])

        # Reads the read-only operator routes.
        for path in ("/v1/events/%s/stats" % event["id"], "/v1/defense/blocklist",
                     "/v1/defense/allowlist", "/v1/defense/decisions", "/v1/audit"):
            read = server.request("GET", path, headers=bearer(viewer["key"]))
            self.assertEqual(read.status, 200, path + ": " + read.body.decode())

        # Every control is refused before it looks at anything, so an unknown order will do.
        patch = server.request("PATCH", "/v1/events/%s/queue" % event["id"], {"paused": True},
                               headers=bearer(viewer["key"]))
        self.assert_error(patch, 403, "insufficient_scope")
        self.assertEqual(patch.json()["error"]["details"],
                         {"required": "operator", "scope": "viewer"})
        refund = server.request("POST", "/v1/orders/ord_unknown/refund", {},
                                headers=bearer(viewer["key"]))
        self.assert_error(refund, 403, "insufficient_scope")
        mint = server.request("POST", "/v1/operator-keys", {"scope": "viewer"},
                              headers=bearer(viewer["key"]))
        self.assert_error(mint, 403, "insufficient_scope")
        self.assertFalse(server.request("GET", "/v1/events/" + event["id"]).json()["queue"]["paused"])

        # Revoked: 401 at once, and the operator key's PATCH is what the audit shows.
        revoked = server.request("DELETE", "/v1/operator-keys/" + viewer["id"],
                                 headers=server.operator())
        self.assertEqual(revoked.status, 204, revoked.body)
        self.assert_error(server.request("GET", "/v1/audit", headers=bearer(viewer["key"])),
                          401, "invalid_admin_key")
        patched = server.request("PATCH", "/v1/events/%s/queue" % event["id"],
                                 {"max_active": 42, "paused": True, "message": "Back at 10:15"},
                                 headers=server.operator())
        self.assertEqual(patched.status, 200, patched.body)

        page = self.audit(server, key=kept["key"])
        actions = [(item["action"], item["target"]) for item in page["items"]]
        self.assertEqual(actions, [("event.create", event["id"]),
                                   ("operator_key.create", viewer["id"]),
                                   ("operator_key.create", kept["id"]),
                                   ("operator_key.revoke", viewer["id"]),
                                   ("queue.update", event["id"])])
        self.assertIsNone(page["next_cursor"])
        self.assertEqual(page["latest"], page["items"][-1]["id"])
        update = page["items"][-1]
        self.assertEqual(update["actor"], {"key_id": "admin", "scope": "operator"})
        self.assertEqual(update["before"], {"admission_rate_per_s": 100, "max_active": 5000,
                                            "paused": False, "message": None,
                                            "closed": False})
        self.assertEqual(update["after"], {"admission_rate_per_s": 100, "max_active": 42,
                                           "paused": True, "message": "Back at 10:15",
                                           "closed": False})
        for item in page["items"]:
            self.assertNotIn(viewer["key"], str(item))
            self.assertNotIn(kept["key"], str(item))

        # A restart on the same data dir keeps the log, the live key and the revocation.
        server.stop()
        restarted = self.start()
        self.assertEqual(self.audit(restarted, key=kept["key"])["items"], page["items"])
        self.assert_error(restarted.request("GET", "/v1/audit", headers=bearer(viewer["key"])),
                          401, "invalid_admin_key")
        self.assertEqual(restarted.request("GET", "/v1/events/" + event["id"])
                         .json()["queue"]["max_active"], 42)
        # Numbering goes on after the restart; paging walks it oldest first.
        blocked = restarted.request("POST", "/v1/defense/blocklist", {"cidr": "203.0.113.0/24"},
                                      headers=restarted.operator())
        self.assertEqual(blocked.status, 201, blocked.body)
        first = self.audit(restarted, query="?limit=3")
        self.assertEqual([item["id"] for item in first["items"]], [1, 2, 3])
        self.assertEqual(first["next_cursor"], 3)
        rest = self.audit(restarted, query="?limit=3&after=3")
        self.assertEqual([item["id"] for item in rest["items"]], [4, 5, 6])
        self.assertEqual(rest["items"][-1]["action"], "defense.block")
        self.assertIsNone(rest["next_cursor"])

    def test_missing_and_unknown_keys_are_401(self):
        """No key, a made-up key and a fan's session token are 401 invalid_admin_key."""
        server = self.start()
        session = server.request("POST", "/v1/sessions", {}).json()["session_token"]
        for headers in ({}, bearer("made-up"), bearer(session)):
            self.assert_error(server.request("GET", "/v1/audit", headers=headers),
                              401, "invalid_admin_key")
            self.assert_error(server.request("GET", "/v1/operator-keys", headers=headers),
                              401, "invalid_admin_key")


if __name__ == "__main__":
    unittest.main()
