#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ (fuzz/README.md): requests, bodies and values
in the shapes the e2e tests (tests/e2e/*.py) and the unit tests send, in each target's input
format (the first byte picks the part of a target, fields are separated by 0x1f). Run it again
after changing a target's input format:

    fuzz/make_corpus.py

The token seeds (fuzz/corpus/tokens/) are genuine tokens and are written by the tokens fuzzer
itself: BOXOFFICE_FUZZ_WRITE_SEEDS=fuzz/corpus/tokens build-fuzz/fuzz/tokens_fuzzer -runs=0
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = "\x1f"

CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/118.0.0.0 Safari/537.36")
CHROME_HINTS = '"Chromium";v="118", "Google Chrome";v="118", "Not=A?Brand";v="99"'


def small_event(**overrides):
    """tests/e2e/harness.py's small_event: a 35-seat event in the shape of API.md's example."""
    event = {
        "name": "Night 1", "starts_at": "2027-05-01T19:00:00Z", "currency": "USD",
        "price_tiers": [{"id": "A", "name": "Floor", "price_cents": 25000},
                        {"id": "B", "name": "Balcony", "price_cents": 9000}],
        "sections": [{"id": "101", "name": "Section 101", "tier": "A",
                      "rows": [{"label": "A", "seats": 20, "accessible": [1, 2]},
                               {"label": "B", "seats": 10}]},
                     {"id": "201", "name": "Section 201", "tier": "B",
                      "rows": [{"label": "A", "seats": 5}]}],
        "limits": {"per_order": 8, "per_customer": 8},
        "hold_ttl_s": 600,
        "queue": {"enabled": True, "policy": "fifo", "admission_rate_per_s": 100,
                  "max_active": 5000, "access_ttl_s": 600},
        "defense": {"challenge": "risk"},
    }
    event.update(overrides)
    return event


def stored_event():
    event = small_event(onsale_at="2027-04-01T10:00:00Z")
    event.update({"id": "evt_k3j9x2", "created_at": "2027-03-01T09:00:00Z", "seat_count": 35})
    return event


def compact(value):
    return json.dumps(value, separators=(",", ":"))


def http_request(method, target, headers=(), body=b"", host=True):
    lines = [f"{method} {target} HTTP/1.1"]
    if host:
        lines.append("Host: 127.0.0.1:8080")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_request(method, target, body, headers=()):
    payload = compact(body).encode()
    return http_request(method, target, list(headers) + [
        ("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload)


def chunked(method, target, chunks, trailer=b""):
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n" + \
        trailer + b"\r\n"
    return http_request(method, target, [("Transfer-Encoding", "chunked"),
                                         ("Content-Type", "application/json")], body)


SESSION = "2.ses_fz2b6tiq13eawuuep6wo..1800086400.jyCR6AMIWB1CBDRD8dUaBg"
ADMIN = "test-admin-key-0123456789"


def http_connection():
    # The configuration byte: '0' is the server's limits and 16 KiB reads; '1' small limits;
    # '2'..'>' other read sizes (fuzz/http_connection_fuzzer.cpp).
    auth = [("Authorization", "Bearer " + SESSION)]
    admin = [("Authorization", "Bearer " + ADMIN)]
    hold = {"seats": [{"id": "101-A-1", "version": 0}]}
    order = {"hold_id": "hld_x", "email": "fan@example.com", "payment": {"token": "tok_visa"}}
    seeds = {
        "get-healthz": b"0" + http_request("GET", "/healthz"),
        "get-events-query": b"0" + http_request("GET", "/v1/events?limit=2&cursor=evt_a%2Bb"),
        "post-event": b"0" + json_request("POST", "/v1/events", small_event(), admin),
        "post-hold-pipelined": b"0" + json_request("POST", "/v1/events/evt_1/holds", hold, auth) +
        json_request("POST", "/v1/orders", order, auth + [("Idempotency-Key", "k-1")]) +
        http_request("GET", "/v1/orders/ord_1", auth),
        "chunked-hold": b"0" + chunked("POST", "/v1/events/evt_1/holds",
                                       [b'{"best_available":', b' {"quantity": 2}}']),
        "chunked-bytewise": b"2" + chunked("POST", "/v1/sessions", []),
        "chunked-trailer": b"4" + chunked("POST", "/v1/telemetry", [b'{"pointer_events": 3}'],
                                          b"X-Trailer: 1\r\n"),
        "chunk-extension": b"1" + http_request("POST", "/v1/events", [
            ("Transfer-Encoding", "chunked")], b"2;name=value\r\n{}\r\n0\r\n\r\n"),
        "smuggling-gzip": b"0" + http_request("POST", "/v1/events", [
            ("Transfer-Encoding", "chunked, gzip")], b"") + http_request("GET", "/v1/events"),
        "te-and-length": b"0" + http_request("POST", "/v1/sessions", [
            ("Transfer-Encoding", "chunked"), ("Content-Length", "5")], b"0\r\n\r\n"),
        "no-host": b"0" + http_request("GET", "/healthz", host=False),
        "two-hosts": b"0" + http_request("GET", "/healthz", [("Host", "b")]),
        "http10-expect": b"0" + b"GET /healthz HTTP/1.0\r\nExpect: 100-continue\r\n"
        b"Content-Length: 0\r\n\r\n",
        "expect-continue": b"0" + http_request("POST", "/v1/sessions", [
            ("Expect", "100-continue"), ("Content-Length", "2")], b"{}"),
        "encoded-slash": b"0" + http_request("GET", "/v1%2Fevents") +
        http_request("GET", "/v1/%65vents/evt%5F1/seats?section=101&accessible=true"),
        "absolute-form": b"0" + http_request("GET", "http://tickets.example.com/v1/events#top"),
        "options-star": b"0" + http_request("OPTIONS", "*"),
        "preflight": b"0" + http_request("OPTIONS", "/v1/orders", [
            ("Origin", "https://tickets.example.com"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type, x-altcha")]),
        "cors-get": b"0" + http_request("GET", "/v1/events/evt_1", [
            ("Origin", "https://tickets.example.com")]),
        "unknown-method": b"0" + http_request("BREW", "/v1/events"),
        "method-not-allowed": b"0" + http_request("PUT", "/v1/events/evt_1"),
        "head": b"0" + http_request("HEAD", "/v1/events/evt_1/queue/status",
                                    [("X-Queue-Ticket", "2.evt_1.1.ses_x.1.mac")]),
        "queue-patch": b"0" + json_request("PATCH", "/v1/events/evt_1/queue",
                                           {"paused": True, "message": "Doors reopen at 10:15"},
                                           admin),
        "browser-headers": b"2" + http_request("GET", "/events/evt_1/seats", [
            ("User-Agent", CHROME_UA), ("Accept-Language", "en-US,en;q=0.9"),
            ("Sec-CH-UA", CHROME_HINTS), ("X-Forwarded-For", "203.0.113.9, 10.0.0.1"),
            ("X-Request-Id", "req-4111-1111"), ("Accept-Encoding", "gzip")]),
        "long-target": b"1" + http_request("GET", "/v1/events?" + "a" * 600),
        "keep-alive-close": b"0" + http_request("GET", "/healthz", [("Connection", "close")]) +
        http_request("GET", "/readyz"),
        "byte-reads": b"2" + json_request("POST", "/v1/customers",
                                          {"email": "fan@example.com",
                                           "password": "correct horse battery"}),
    }
    return seeds


def url_encoding():
    return {
        "decode": "a/v1/events/evt%5F1/seats%2Fx+y",
        "decode-bad": "a%zz%4",
        "form": "bemail=fan%40example.com&password=correct+horse&&x=1&x=2&flag",
        "form-nul": "bname=%00&value=%",
        "target": "c/v1/events?limit=10&cursor=evt_a%2Bb#frag",
        "target-absolute": "chttps://tickets.example.com/v1/events/evt_1?section=101",
        "round-trip": "d" + SEP.join(["section", "101 & 201", "name=", "a+b%c", "", "empty"]),
    }


def json_documents():
    return {
        "body-order": "a" + compact({"hold_id": "hld_1", "email": "fan@example.com",
                                     "payment": {"token": "tok_visa"}}),
        "body-card": "a" + compact({"payment": {"token": "4111 1111 1111 1111"}}),
        "body-empty": "a \r\n",
        "body-deep": "a" + "[" * 40 + "]" * 40,
        "body-malformed": "a{not json",
        "event": "b" + compact(small_event()),
        "event-shuffled": "b" + compact(small_event(
            queue={"enabled": True, "policy": "shuffle_prequeue", "admission_rate_per_s": 50,
                   "max_active": 100, "access_ttl_s": 300, "idle_release_s": 60,
                   "poll_budget_per_s": 5000, "order_ends_access": False},
            onsale_at="2027-04-01T10:00:00+02:00", defense={"challenge": "always"})),
        "event-bad": "b" + compact({"name": "", "price_tiers": [{"id": "A-1", "price_cents": -1}],
                                    "sections": [{"id": "S", "tier": "Z",
                                                  "rows": [{"label": "A", "seats": 0,
                                                            "accessible": [3, 3]}]}],
                                    "starts_at": "2262-04-12T00:00:00Z"}),
        "stored-event": "c" + compact(stored_event()),
        "stored-bad-count": "c" + compact(dict(stored_event(), seat_count=-1)),
        "queue-settings": "e" + compact({"admission_rate_per_s": 50, "max_active": 10,
                                         "paused": True, "message": "Doors reopen at 10:15"}),
        "queue-settings-closed": "e" + compact({"admission_rate_per_s": 50, "closed": True}),
        "serialize": "f" + '{"n":[0.0,-0.0,49.87,1e300,5e-324,100,-9223372036854775808,'
                           '18446744073709551615],"s":"a\\n\\u0001\\"\\\\\\u00e9","o":{}}',
        "cards": "d" + compact({"items": ["4111-1111-1111-1111"], "4111111111111111": 1,
                                "note": "12345678901234567890 4111 1111 1111 1111"}),
    }


def config():
    file = "\n".join([
        'listen = "127.0.0.1:7000"', 'data-dir = "/var/lib/boxoffice"', "threads = 4",
        "max-connections = 77", "body-limit-bytes = 2097152", 'trusted-proxies = "10.0.0.0/8"',
        'cors-origins = "https://tickets.example.com, http://localhost:5173"',
        "log-level = warn", "access-log = true", "rate-limits = false",
        'gateway = ["name=primary,url=https://api.stripe.com,key=sk_test_abcdef,weight=70", '
        '"name=backup,url=http://127.0.0.1:9000,key=sk_test_ghijkl,weight=30,timeout_ms=500"]',
        'smtp-url = "smtps://mail.example.com:465"', 'mail-from = "tickets@example.com"',
        'mail-from-name = "Box Office"', ""])
    return {
        "file": "a" + file,
        "file-sections": "a[serve]\nlisten=[::1]:0\nsession-ttl-s=3600\nhashing-threads=2\n",
        "file-bad": "athreads = 999\nlisten = nowhere\n",
        "gateways": "bname=primary,url=https://api.stripe.com,key=sk_live_secret1,weight=70;"
                    "name=backup,url=http://127.0.0.1:9000,key_env=HOME,weight=0,"
                    "connect_timeout_ms=50",
        "gateway-bad": "bname=bad name,url=ftp://x,key=sk_secret_value,weight=1001,weight=2",
        "listen": "c[::1]:8080",
        "cidrs": "c10.0.0.0/8, ::1/128, 192.0.2.7, ::ffff:198.51.100.0/120",
        "origins": "chttps://tickets.example.com,http://localhost:5173",
    }


def text_formats():
    return {
        "ipv4": "a203.0.113.9",
        "ipv6": "a[2001:db8::1%eth0]",
        "ipv4-mapped": "a::ffff:10.0.0.1",
        "cidr": "b10.1.2.3/8",
        "cidr-list": "b2001:db8::/32, 198.51.100.0/24,,::ffff:0:0/96",
        "time": "c2027-05-01T19:00:00Z",
        "time-offset": "c2027-05-01T21:00:00.123456789+02:00",
        "time-leap": "c2016-12-31T23:59:60Z",
        "time-end": "c2261-12-31T23:59:59Z",
        "time-wrap": "c2262-04-12T00:00:00Z",
        "card": "dmy card is 4111 1111 1111 1111, thanks",
        "card-after-long": "d12345678901234567890  4111 1111 1111 1111",
        "not-card": "d2027-05-01T19:00:00Z tok_visa 4111  1111 1111 1111",
        "mail": "efan@example.com",
        "mail-injection": "efan@example.com\r\nBcc: x@y",
        "mail-display": 'e"x" <a@b>, c@d',
        "mail-spaces": "e  Fan@Example.COM ",
        "password": "fcorrect horse battery" + SEP + "fan@example.com",
        "password-email": "ffanfanfan1" + SEP + "fanfanfan@example.com",
        "message-id": "g<ord_abc.confirmation@boxoffice.invalid>",
        "scope": "gviewer",
    }


def mime():
    text = "Your tickets for Night 1.\nSeat 101-A-1\r\n\nSee you there!  \n"
    return {
        "confirmation": "a" + SEP.join([
            "fan@example.com", "tickets@boxoffice.invalid", "boxoffice",
            "Your tickets for Night 1", text, "<ord_abc.confirmation@boxoffice.invalid>",
            "ticket-tkt_abc.svg", "image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg'/>"]),
        "utf8": "a" + SEP.join([
            "fan@example.com", "tickets@example.com", "Bürokasse Zürich ✓",
            "Ihre Tickets für «Nacht 1» — Reihe A, Plätze 1–2 " * 3, "Grüße\n" * 40,
            "ord_abc@host"]),
        "injection": "a" + SEP.join([
            "fan@example.com\r\nBcc: x@y", "tickets@example.com", "", "Hi\r\nBcc: x@y", "",
            "id@host"]),
        "quoted-name": "a" + SEP.join([
            "fan@example.com", "tickets@example.com", 'Box "Office" \\ Tickets', "=?UTF-8?B?x?=",
            "a" * 200 + "=\t \n", "<a@b>", "a.pdf", "application/pdf", "\x00\x01\xff"]),
        "encodings": "b" + "line one\r\nline two with trailing blanks \t\n" + "x" * 100 + "=\n",
    }


def risk_model():
    with open(os.path.join(HERE, "..", "src", "defense", "risk-model.json")) as file:
        default = file.read()
    return {
        "default": "a" + default,
        "small": "a" + compact({"version": "v1", "bias": -3.5,
                                "weights": {"ua_automation": 2.0, "timing_regular": 1e6},
                                "thresholds": {"challenge": 0.5, "block": 0.99}}),
        "extreme": "a" + '{"version":"x","bias":1e308,"weights":{"ua_missing":-1e308,'
                         '"ua_other":1e300},"thresholds":{"challenge":1e-300,"block":1}}',
        "chrome": "b" + SEP.join([CHROME_UA, "en-US,en;q=0.9", CHROME_HINTS, "?0", '"Windows"',
                                  "dev_1234"]),
        "script": "b" + SEP.join(["python-requests/2.31.0", "", "", "", "", ""]),
        "headless": "b" + SEP.join([CHROME_UA.replace("Chrome/", "HeadlessChrome/"), "", "",
                                    "?1", '"Android"', ""]),
    }


def api_bodies():
    admin = "Authorization: Bearer @ADMIN@"
    fan = "Authorization: Bearer @SESSION@"

    def request(method, target, headers, body=""):
        if not isinstance(body, str):
            body = compact(body)
        return "\n".join([f"{method} {target}"] + headers + ["", body])

    event = small_event(queue={"enabled": False}, defense={"challenge": "off"})
    return {
        "create-event": request("POST", "/v1/events", [admin], event),
        "create-event-viewer": request("POST", "/v1/events", ["Authorization: Bearer @VIEWER@"],
                                       event),
        "create-event-bad": request("POST", "/v1/events", [admin],
                                    {"name": "x", "sections": [], "hold_ttl_s": 5}),
        "hold-seats": request("POST", "/v1/events/@EVENT@/holds", [fan],
                              {"seats": [{"id": "S-A-1", "version": 0},
                                         {"id": "T-A-3", "version": 0}]}),
        "hold-best": request("POST", "/v1/events/@EVENT@/holds", [fan],
                             {"best_available": {"quantity": 2, "section": "S",
                                                 "accessible": True}}),
        "hold-queue": request("POST", "/v1/events/@QEVENT@/holds",
                              [fan, "X-Access-Token: @ACCESS@"],
                              {"best_available": {"quantity": 1}}),
        "get-hold": request("GET", "/v1/holds/@HOLD@", [fan]),
        "delete-hold": request("DELETE", "/v1/holds/@HOLD@", [fan]),
        "order": request("POST", "/v1/orders", [fan, "Idempotency-Key: k-1"],
                         {"hold_id": "@HOLD@", "email": "fan@example.com",
                          "payment": {"token": "tok_visa"}}),
        "order-declined": request("POST", "/v1/orders", [fan],
                                  {"hold_id": "@HOLD@", "email": "fan@example.com",
                                   "payment": {"token": "tok_declined"}}),
        "order-bad-email": request("POST", "/v1/orders", [fan, "Idempotency-Key: 4111111111111111"],
                                   {"hold_id": "@HOLD@", "email": "fan@example.com\r\nBcc: x@y",
                                    "payment": {"token": "tok_visa"}}),
        "get-order": request("GET", "/v1/orders/ord_missing", [admin]),
        "refund": request("POST", "/v1/orders/ord_missing/refund", [admin, "Idempotency-Key: r"]),
        "ticket-qr": request("GET", "/v1/tickets/tkt_missing/qr.svg", [fan]),
        "telemetry": request("POST", "/v1/telemetry", [fan],
                             {"pointer_events": 12, "key_events": 3, "first_interaction_ms": 850}),
        "session-guest": request("POST", "/v1/sessions", [], {}),
        "session-login": request("POST", "/v1/sessions", [],
                                 {"email": "fan@example.com", "password": "wrong password"}),
        "session-current": request("GET", "/v1/sessions/current", [fan]),
        "customer": request("POST", "/v1/customers", [],
                            {"email": "fan@example.com", "password": "short"}),
        "operator-key": request("POST", "/v1/operator-keys", [admin],
                                {"scope": "viewer", "label": "wall display"}),
        "operator-keys": request("GET", "/v1/operator-keys", [admin]),
        "revoke-key": request("DELETE", "/v1/operator-keys/opk_missing", [admin]),
        "audit": request("GET", "/v1/audit?after=0&limit=5", ["Authorization: Bearer @VIEWER@"]),
        "queue-patch": request("PATCH", "/v1/events/@QEVENT@/queue", [admin],
                               {"admission_rate_per_s": 50, "max_active": 10, "paused": False,
                                "message": "Doors reopen at 10:15"}),
        "queue-join": request("POST", "/v1/events/@QEVENT@/queue", [fan, "X-Device-Id: dev_1"]),
        "queue-status": request("GET", "/v1/events/@QEVENT@/queue/status",
                                [fan, "X-Queue-Ticket: @TICKET@"]),
        "queue-leave": request("DELETE", "/v1/events/@QEVENT@/queue",
                               [fan, "X-Queue-Ticket: @TICKET@"]),
        "blocklist": request("POST", "/v1/defense/blocklist", [admin],
                             {"cidr": "192.0.2.0/24", "reason": "scalper farm", "ttl_s": 3600}),
        "allowlist": request("POST", "/v1/defense/allowlist", [admin],
                             {"cidr": "198.18.1.7/24", "reason": "load test"}),
        "unblock": request("DELETE", "/v1/defense/blocklist?cidr=192.0.2.0/24", [admin]),
        "decisions": request("GET", "/v1/defense/decisions?limit=3", [admin]),
        "decisions-filtered": request(
            "GET", "/v1/defense/decisions?before=9&limit=3&decision=challenged&route_class=hold"
            "&client=203.0.113.0/24", ["Authorization: Bearer @VIEWER@"]),
        "challenge": request("GET", "/v1/challenge", ["User-Agent: " + CHROME_UA]),
        "scanner-key": request("POST", "/v1/events/@EVENT@/scanner-keys", [admin]),
        "checkin": request("POST", "/v1/events/@EVENT@/checkin", [admin], {"code": "@CODE@"}),
        "checkin-scanner": request("POST", "/v1/events/@EVENT@/checkin",
                                   ["Authorization: Bearer sk_unknown"], {"code": "x"}),
        "events": request("GET", "/v1/events?limit=1", []),
        "event": request("GET", "/v1/events/@EVENT@", []),
        "seats": request("GET", "/v1/events/@EVENT@/seats?section=S", ["If-None-Match: \"x\""]),
    }


def write(target, seeds):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(directory, name), "wb") as file:
            file.write(data)


def main():
    for target, seeds in [("http_connection", http_connection()),
                          ("url_encoding", url_encoding()),
                          ("json_documents", json_documents()),
                          ("config", config()),
                          ("text_formats", text_formats()),
                          ("mime", mime()),
                          ("risk_model", risk_model()),
                          ("api_bodies", api_bodies())]:
        write(target, seeds)


if __name__ == "__main__":
    main()
