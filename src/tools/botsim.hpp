// `boxoffice botsim`: the bot defence's evaluation and training ground. It drives a real server
// over HTTP with labelled traffic: simulated fans (browser headers, jittered think times, page
// telemetry, solving a proof of work when asked, as the ALTCHA widget does) and five kinds of bot
// (naive scripts, header-spoofing scripts, one fast address, many slow rotating addresses, and a
// headless browser that solves proofs of work). Each simulated client is its own connection and
// names its own address in X-Forwarded-For, so the server must list the simulator's address in
// `--trusted-proxies`.
//
// It creates its own event through the operator API, runs the agents concurrently (a bounded
// number at once, Asio coroutines on one thread; proofs of work are solved on another), and
// reports per kind how many were stopped (blocked, stopped at a challenge they could not solve,
// rate limited for good, never admitted), challenged and let through (got a hold).
//
// With --train it then reads the server's scored decisions (GET /v1/defense/decisions), labels
// each by the request id it sent, fits the risk model (defense/risk_training.hpp) and writes it to
// `<data-dir>/risk-model.json`, which the server loads at its next start.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace boxoffice::tools {

struct BotsimOptions {
  std::string url = "http://127.0.0.1:8080";
  // The operator key is a secret: read from this environment variable or from a file (such as
  // `<data-dir>/admin.key`), never from a flag that `ps` would show.
  std::string operator_key_env = "BOXOFFICE_ADMIN_KEY";
  std::string operator_key_file;
  unsigned humans = 2'000;
  unsigned bots = 300;  // per bot kind
  // The kinds of bot to run (KindName's names); empty: all five.
  std::vector<std::string> bot_kinds;
  std::uint64_t seed = 1;
  // Think times and bots' sleeps are multiplied by this (1: real time). The timing feature is a
  // coefficient of variation, so it does not change with the scale; waits the server asks for
  // (Retry-After, queue polls) stay in real time.
  double time_scale = 0.2;
  unsigned concurrency = 200;   // agents running at once
  double agent_timeout_s = 90;  // an agent without a hold by then is stopped ("not admitted")
  std::string report;           // JSON report file; none: only the printed summary
  bool train = false;
  std::string data_dir;  // --train writes <data-dir>/risk-model.json
  bool quiet = false;
};

// Adds botsim's flags to `command`, bound to `options`.
void AddBotsimOptions(CLI::App& command, BotsimOptions& options);

// Runs the simulation (and the training); returns the exit code: 0, 1 on a failed run (server
// unreachable, event refused, training impossible), 2 on unusable options.
int RunBotsim(const BotsimOptions& options);

}  // namespace boxoffice::tools
