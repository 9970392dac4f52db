"""End-to-end: rotating the server secret and the operator key on the real binary
(docs/security.md, "Rotating keys"). A new secret put first in secret.key signs from the next
start while every older one still verifies, so fans keep their sessions and queue places (their queue tickets); a
secret taken out stops verifying; an operator key likewise, given as a list in the
environment."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, Server, small_event

NEWER_SECRET = "b" * 64
NEWEST_SECRET = "c" * 64


def bearer(key):
    return {"Authorization": "Bearer " + key}


def key_id(token):
    """The signing key's id a format-3 token names: "3.<id>.<fields>.<mac>"."""
    parts = token.split(".")
    assert parts[0] == "3", token
    return parts[1]


class KeyRotationTest(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="boxoffice-e2e-keys-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    def start(self, **kwargs):
        server = Server(data_dir=self.data_dir, **kwargs)
        self.addCleanup(server.cleanup)
        return server

    def write_secrets(self, secrets):
        path = os.path.join(self.data_dir, "secret.key")
        with open(path, "w") as out:
            out.write("".join(secret + "\n" for secret in secrets))

    def read_secrets(self):
        with open(os.path.join(self.data_dir, "secret.key")) as source:
            return [line.strip() for line in source if line.strip()]

    def session(self, server):
        created = server.request("POST", "/v1/sessions", {})
        self.assertEqual(created.status, 201, created.body)
        return created.json()["session_token"]

    def join(self, server, event_id, session):
        return server.request("POST", "/v1/events/%s/queue" % event_id, {},
                              headers=bearer(session))

    def test_fans_keep_their_places_across_a_rotation_and_a_retired_secret_stops_verifying(self):
        server = self.start()
        event = server.request("POST", "/v1/events", small_event(),
                               headers=server.operator()).json()
        first = self.session(server)
        joined = self.join(server, event["id"], first)
        self.assertEqual(joined.status, 201, joined.body)
        place = joined.json()["position"]
        ticket = joined.json()["queue_ticket"]
        minted = server.request("POST", "/v1/operator-keys", {"scope": "viewer"},
                                headers=server.operator())
        self.assertEqual(minted.status, 201, minted.body)
        viewer = minted.json()["key"]
        server.stop()
        [original] = self.read_secrets()

        # Rotation: the newer secret first. Everything handed out before still verifies.
        self.write_secrets([NEWER_SECRET, original])
        server = self.start()
        status = server.request("GET", "/v1/events/%s/queue/status" % event["id"],
                                headers={**bearer(first), "X-Queue-Ticket": ticket})
        self.assertEqual(status.status, 200, status.body)
        self.assertEqual(status.json()["position"], place)
        audit = server.request("GET", "/v1/audit", headers=bearer(viewer))
        self.assertEqual(audit.status, 200, audit.body)
        # New tokens carry the newer key's id.
        second = self.session(server)
        self.assertNotEqual(key_id(second), key_id(first))
        self.assertEqual(self.join(server, event["id"], second).status, 201)
        server.stop()

        # The newer secret retired (the newest replaces it; the original stays, as it derives the
        # ticket keys): its tokens answer 401, the original's still verify.
        self.write_secrets([NEWEST_SECRET, original])
        server = self.start()
        refused = self.join(server, event["id"], second)
        self.assertEqual(refused.status, 401, refused.body)
        status = server.request("GET", "/v1/events/%s/queue/status" % event["id"],
                                headers={**bearer(first), "X-Queue-Ticket": ticket})
        self.assertEqual(status.status, 200, status.body)
        self.assertEqual(server.request("GET", "/v1/audit", headers=bearer(viewer)).status, 200)
        server.stop()

    def test_a_secret_file_that_cannot_be_a_ring_stops_the_start(self):
        self.write_secrets([NEWER_SECRET, NEWER_SECRET])
        run = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                              self.data_dir], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "BOXOFFICE_ADMIN_KEY": "k"})
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("holds one secret twice", run.stderr + run.stdout)
        self.assertNotIn(NEWER_SECRET, run.stderr + run.stdout)

    def test_operator_keys_rotate_through_the_environment(self):
        server = self.start(admin_key="new-operator-key,old-operator-key")
        for key in ("new-operator-key", "old-operator-key"):
            self.assertEqual(server.request("GET", "/v1/audit", headers=bearer(key)).status, 200,
                             key)
        server.stop()

        server = self.start(admin_key="new-operator-key")
        self.assertEqual(
            server.request("GET", "/v1/audit", headers=bearer("new-operator-key")).status, 200)
        refused = server.request("GET", "/v1/audit", headers=bearer("old-operator-key"))
        self.assertEqual(refused.status, 401, refused.body)
        self.assertEqual(refused.json()["error"]["code"], "invalid_admin_key")

    def keys(self, *args, env=None):
        """`boxoffice keys` on this data dir, with neither secret variable set unless given."""
        run_env = {name: value for name, value in os.environ.items()
                   if name not in ("BOXOFFICE_SECRET", "BOXOFFICE_ADMIN_KEY")}
        run_env.update(env or {})
        return subprocess.run([BINARY, "keys", *args, "--data-dir", self.data_dir],
                              capture_output=True, text=True, timeout=60, env=run_env)

    def listed_ids(self, kind):
        """The key ids `keys list --kind` prints, newest first."""
        listed = self.keys("list", "--kind", kind)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        return re.findall(r"^  (\S+)  ", listed.stdout, re.MULTILINE)

    def test_the_keys_command_rotates_and_retires_and_the_next_start_follows(self):
        server = self.start(admin_key=None)
        [old_operator] = self.read_admin_keys()
        first = self.session(server)
        server.stop()
        self.assertEqual(self.listed_ids("server"), [key_id(first)])

        rotated = self.keys("rotate", "--kind", "server")
        self.assertEqual(rotated.returncode, 0, rotated.stderr)
        new_id = re.search(r"new server secret (\S+) first", rotated.stdout).group(1)
        self.assertEqual(self.listed_ids("server"), [new_id, key_id(first)])
        operator = self.keys("rotate", "--kind", "operator")
        self.assertEqual(operator.returncode, 0, operator.stderr)
        new_operator = re.search(r"new operator key \(.*\): (\S+)", operator.stdout).group(1)
        self.assertEqual(self.read_admin_keys(), [new_operator, old_operator])
        self.assertNotIn(new_operator, operator.stderr)

        # The next start signs with the new secret, still verifies the old one, and takes both
        # operator keys.
        server = self.start(admin_key=None)
        event = server.request("POST", "/v1/events", small_event(),
                               headers=bearer(new_operator))
        self.assertEqual(event.status, 201, event.body)
        self.assertEqual(self.join(server, event.json()["id"], first).status, 201)
        self.assertEqual(key_id(self.session(server)), new_id)
        for key in (new_operator, old_operator):
            self.assertEqual(server.request("GET", "/v1/audit", headers=bearer(key)).status, 200)
        server.stop()

        # The oldest server secret derives the ticket keys: retiring it needs saying so.
        refused = self.keys("retire", "--kind", "server", "--id", key_id(first))
        self.assertEqual(refused.returncode, 1)
        self.assertIn("ticket keys", refused.stderr)
        self.assertEqual(self.listed_ids("server"), [new_id, key_id(first)])
        old_operator_id = self.listed_ids("operator")[1]
        retired = self.keys("retire", "--kind", "operator", "--id", old_operator_id)
        self.assertEqual(retired.returncode, 0, retired.stderr)
        self.assertEqual(self.read_admin_keys(), [new_operator])

        server = self.start(admin_key=None)
        refused = server.request("GET", "/v1/audit", headers=bearer(old_operator))
        self.assertEqual(refused.status, 401, refused.body)
        self.assertEqual(server.request("GET", "/v1/audit", headers=bearer(new_operator)).status,
                         200)
        server.stop()

        # With the variable set serve reads no file, so editing the file would change nothing.
        shadowed = self.keys("rotate", "--kind", "operator", env={"BOXOFFICE_ADMIN_KEY": "k"})
        self.assertEqual(shadowed.returncode, 1)
        self.assertIn("BOXOFFICE_ADMIN_KEY is set", shadowed.stderr)
        self.assertEqual(self.read_admin_keys(), [new_operator])

    def read_admin_keys(self):
        with open(os.path.join(self.data_dir, "admin.key")) as source:
            return [line.strip() for line in source if line.strip()]


if __name__ == "__main__":
    unittest.main()
