"""The mail settings of `boxoffice serve`, seen through the real binary's command line.

(The mailer itself is exercised by the C++ tests in src/mail/ against a real SMTP server; these
tests check that the binary exposes and validates its settings.)
"""

import subprocess
import tempfile
import unittest

from harness import BINARY


class MailConfigTest(unittest.TestCase):
    def test_help_lists_mail_settings(self):
        """`serve --help` lists the mail settings and never offers a password flag."""
        serve = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True)
        self.assertEqual(serve.returncode, 0)
        for option in ("--smtp-url", "--smtp-user", "--smtp-require-tls", "--mail-from"):
            self.assertIn(option, serve.stdout)
        self.assertNotIn("--smtp-password", serve.stdout)

    def test_bad_mail_settings_stop_the_start(self):
        """A non-SMTP URL or a sender that is not a plain address is refused before serving."""
        with tempfile.TemporaryDirectory() as data_dir:
            for args in (["--smtp-url", "http://mail.example.com"],
                         ["--mail-from", "Tickets <tickets@example.com>"]):
                bad = subprocess.run(
                    [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, *args],
                    capture_output=True, text=True, timeout=30)
                self.assertNotEqual(bad.returncode, 0, args)
                self.assertIn(args[0], bad.stderr, args)


if __name__ == "__main__":
    unittest.main()
