// Configuration of `boxoffice serve`. Every setting has a flag, a BOXOFFICE_* environment
// variable and a key in the optional config file (--config FILE, TOML style "key = value");
// a flag beats the config file, which beats the environment, which beats the default. The file
// outranks the environment because it is named on the command line: an explicit choice, where the
// environment is ambient.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "http/server.hpp"

namespace boxoffice::app {

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "data";
  unsigned threads = 0;
  std::size_t body_limit_bytes = 1 << 20;
  std::size_t max_connections = 10'000;
  std::size_t max_streams = 5'000;
  unsigned read_timeout_s = 30;
  unsigned idle_timeout_s = 60;
  unsigned drain_timeout_s = 25;
  std::string trusted_proxies;  // comma-separated CIDRs
  std::string log_level = "info";
  bool access_log = false;
  bool demo = false;
  unsigned session_ttl_s = 24 * 3600;
  unsigned hashing_threads = 2;
  std::string defense_allowlist;  // comma-separated CIDRs that skip rate limits
  bool rate_limits = true;
  std::size_t rate_limit_slots = 1 << 20;
};

// Adds serve's options to `command`, bound to `config`.
void AddServeOptions(CLI::App& command, ServeConfig& config);

// "host:port" or "[v6]:port" → (host, port); 422 invalid_listen otherwise.
Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen);

// The HTTP server's options from the config; fails on a bad --listen or --trusted-proxies.
Result<http::ServerOptions> ToServerOptions(const ServeConfig& config);

}  // namespace boxoffice::app
