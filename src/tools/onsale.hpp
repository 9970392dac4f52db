// `boxoffice onsale`: plays an on-sale against a running server, end to end, and writes a report.
// N simulated fans arrive on a curve (a pre-queue before the event opens, a spike at the opening,
// a decaying tail) and each goes the whole way: a session, the event page and its telemetry, the
// waiting room (polling as told, or a stream of server-sent events), a hold of the best seats,
// an order paid through the gateway, the tickets — or abandons, or is told the event sold out.
// It is an OPEN model: every request has an intended send time (the arrival, the last answer
// plus the Retry-After it asked for, ...) and latency is counted from that time, so a slow
// server is never hidden by a simulator that waits for it.
//
// It is built to play a million fans on one machine next to the server: fans are small structs
// scheduled on a heap, not coroutines, and share a bounded pool of keep-alive connections on one
// I/O thread (proofs of work are solved on another). Each fan names its own client address in
// X-Forwarded-For, so the server must list the simulator's address in `--trusted-proxies`.
//
// After the run it audits what the server kept (seats sold once, every confirmed order in the
// ledger and ticketed, no card charged twice, admissions in join order, every waiting fan told of
// the sell-out) and writes the report (JSON, docs/onsale.md; HTML with --html).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace boxoffice::tools {

struct OnsaleOptions {
  std::string url = "http://127.0.0.1:8080";
  // The operator key is a secret: read from this environment variable or from a file, never
  // from a flag that `ps` would show. Neither: `data/admin.key`, which `make run` writes.
  std::string operator_key_env = "BOXOFFICE_ADMIN_KEY";
  std::string operator_key_file;
  std::string event_id;  // run against this event instead of creating one
  // The event the tool creates.
  std::uint32_t seats = 500;
  std::uint32_t admission_rate_per_s = 200;
  std::uint32_t max_active = 1'000;
  std::uint32_t per_order = 6;
  std::string policy = "fifo";     // or shuffle_prequeue
  std::string challenge = "risk";  // or off, always
  std::uint32_t hold_ttl_s = 600;
  std::uint32_t idle_release_s = 120;
  std::uint32_t poll_budget_per_s = 20'000;
  double prequeue_s = 10;  // the event opens this long after the run starts
  // The fans.
  std::uint64_t fans = 10'000;
  std::string arrival = "spike";  // or uniform, ramp
  double prequeue_share = 0.2;
  double spike_s = 10;
  double tail_s = 30;
  double stream_share = 0.05;
  double abandon_share = 0.05;  // per step
  double decline_share = 0.05;
  double bot_share = 0;
  double think_scale = 1;  // multiplies the fans' pauses between pages
  std::uint64_t seed = 1;
  // The simulator.
  unsigned connections = 256;
  double duration_max_s = 3'600;
  std::string gateway_sim;  // the gateway simulator's base URL, for the payment audit
  std::string report;       // JSON report file
  std::string html;         // HTML report file
  bool quiet = false;
};

// Adds onsale's flags to `command`, bound to `options`.
void AddOnsaleOptions(CLI::App& command, OnsaleOptions& options);

// Runs the on-sale, the audit and the report; returns the exit code: 0 when the run finished and
// the audit passed, 1 when the audit failed or the run could not start, 2 on unusable options.
int RunOnsale(const OnsaleOptions& options);

}  // namespace boxoffice::tools
