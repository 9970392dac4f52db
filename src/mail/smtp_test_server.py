#!/usr/bin/env python3
"""A real SMTP server on loopback for smtp_mailer_test.cpp, built on Python's smtpd module.

It listens on 127.0.0.1 on a free port, writes that port to --port-file once it accepts
connections, and serves until it is terminated. --mode decides how it answers:
  accept        take every mail; each one is written to --out as JSON (atomically)
  reject-rcpt   answer RCPT with 550 (the mailbox does not exist: a permanent failure)
  tempfail-rcpt answer RCPT with 451 (try again later: a temporary failure)
With --user and --password it offers AUTH PLAIN and refuses MAIL until the client logs in.
"""
import argparse
import base64
import json
import os
import socket
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402  (deprecated, still shipped with Python 3.11)
import smtpd  # noqa: E402

# smtpd greets with the host's FQDN; resolving it may wait on DNS, which a test must not.
socket.getfqdn = lambda name="": "smtp.test.invalid"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["accept", "reject-rcpt", "tempfail-rcpt"],
                        default="accept")
    parser.add_argument("--out", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    class Channel(smtpd.SMTPChannel):
        authenticated_user = ""
        auth_pending = False

        def smtp_EHLO(self, arg):
            if not args.user:
                return super().smtp_EHLO(arg)
            if not arg:
                self.push("501 Syntax: EHLO hostname")
                return
            self._set_rset_state()
            self.seen_greeting = arg
            self.extended_smtp = True
            self.push("250-%s" % self.fqdn)
            self.push("250-AUTH PLAIN")
            self.push("250 HELP")

        def smtp_AUTH(self, arg):
            words = (arg or "").split()
            if not args.user or not words or words[0].upper() != "PLAIN":
                self.push("504 5.5.4 Unrecognized authentication type")
            elif len(words) > 1:
                self.check_plain(words[1])
            else:
                self.auth_pending = True
                self.push("334 ")

        def check_plain(self, encoded):
            try:
                _, user, password = base64.b64decode(encoded).decode().split("\0")
            except (ValueError, UnicodeDecodeError):
                self.push("501 5.5.2 Cannot decode the response")
                return
            if user == args.user and password == args.password:
                self.authenticated_user = user
                self.push("235 2.7.0 Authentication successful")
            else:
                self.push("535 5.7.8 Authentication credentials invalid")

        def found_terminator(self):
            if self.auth_pending:
                line = b"".join(self.received_lines).decode("ascii", "replace")
                self.received_lines = []
                self.num_bytes = 0
                self.auth_pending = False
                self.check_plain(line.strip())
                return
            super().found_terminator()

        def smtp_MAIL(self, arg):
            if args.user and not self.authenticated_user:
                self.push("530 5.7.0 Authentication required")
                return
            super().smtp_MAIL(arg)

        def smtp_RCPT(self, arg):
            if args.mode == "reject-rcpt":
                self.push("550 5.1.1 No such user here")
            elif args.mode == "tempfail-rcpt":
                self.push("451 4.3.0 Try again later")
            else:
                super().smtp_RCPT(arg)

    class Server(smtpd.SMTPServer):
        channel_class = Channel

        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            record = {
                "mail_from": mailfrom,
                "rcpt_tos": rcpttos,
                "data_base64": base64.b64encode(data).decode(),
            }
            temporary = args.out + ".tmp"
            with open(temporary, "w") as f:
                json.dump(record, f)
            os.replace(temporary, args.out)
            return None

    server = Server(("127.0.0.1", 0), None, decode_data=False)
    port = server.socket.getsockname()[1]
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(port))
    os.replace(temporary, args.port_file)
    asyncore.loop(timeout=0.2)


if __name__ == "__main__":
    main()
