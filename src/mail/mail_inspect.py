#!/usr/bin/env python3
"""Parses one RFC 5322 message with Python's `email` package and prints what a mail client sees,
as JSON, so the C++ tests can check boxoffice's messages against an independent parser:
headers decoded (RFC 2047), the text part decoded, each attachment's name, type and SHA-256,
and every defect the parser found.

Usage: mail_inspect.py FILE
"""
import email
import email.policy
import hashlib
import json
import sys


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [type(d).__name__ for d in message.defects]
    text = None
    attachments = []
    for part in message.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            attachments.append({
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "sha256": hashlib.sha256(payload).hexdigest(),
                "size": len(payload),
            })
        elif part.get_content_type() == "text/plain" and text is None:
            # Line endings as a mail client shows them: the wire form is CRLF.
            text = part.get_content().replace("\r\n", "\n")
    print(json.dumps({
        "message_id": message["Message-ID"],
        "date": message["Date"],
        "from_address": message["From"].addresses[0].addr_spec,
        "from_name": message["From"].addresses[0].display_name,
        "to": message["To"],
        "subject": message["Subject"],
        "content_type": message.get_content_type(),
        "text": text,
        "attachments": attachments,
        "defects": defects,
        "crlf_only": b"\n" not in raw.replace(b"\r\n", b""),
        "longest_line": max(len(line) for line in raw.split(b"\r\n")),
    }))


if __name__ == "__main__":
    main()
