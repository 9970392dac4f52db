#include "app/config.hpp"

#include <charconv>

namespace boxoffice::app {

void AddServeOptions(CLI::App& command, ServeConfig& config) {
  command.set_config("--config", "", "Read settings from this file (key = value lines)");
  command.add_option("--listen", config.listen, "Address to listen on, host:port (port 0: any)")
      ->envname("BOXOFFICE_LISTEN")
      ->capture_default_str();
  command.add_option("--data-dir", config.data_dir, "Folder of the ledger, keys and state")
      ->envname("BOXOFFICE_DATA_DIR")
      ->capture_default_str();
  command.add_option("--threads", config.threads, "I/O threads (0: one per core)")
      ->envname("BOXOFFICE_THREADS")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  command
      .add_option("--body-limit-bytes", config.body_limit_bytes,
                  "Largest request body accepted; larger ones get 413")
      ->envname("BOXOFFICE_BODY_LIMIT_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{64} << 20))
      ->capture_default_str();
  command
      .add_option("--max-connections", config.max_connections,
                  "Open connections beyond this are answered 503")
      ->envname("BOXOFFICE_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--max-streams", config.max_streams,
                  "Open event streams (queue/stream) beyond this are answered 503")
      ->envname("BOXOFFICE_MAX_STREAMS")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--read-timeout-s", config.read_timeout_s,
                  "A request must arrive whole within this many seconds")
      ->envname("BOXOFFICE_READ_TIMEOUT_S")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  command
      .add_option("--idle-timeout-s", config.idle_timeout_s,
                  "Close a keep-alive connection idle this long")
      ->envname("BOXOFFICE_IDLE_TIMEOUT_S")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  command
      .add_option("--drain-timeout-s", config.drain_timeout_s,
                  "On SIGTERM, wait this long for requests in flight")
      ->envname("BOXOFFICE_DRAIN_TIMEOUT_S")
      ->check(CLI::Range(0u, 600u))
      ->capture_default_str();
  command
      .add_option("--trusted-proxies", config.trusted_proxies,
                  "Comma-separated CIDRs whose X-Forwarded-For names the client")
      ->envname("BOXOFFICE_TRUSTED_PROXIES");
  command.add_option("--log-level", config.log_level, "trace, debug, info, warn, error or off")
      ->envname("BOXOFFICE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  command.add_flag("--access-log", config.access_log, "Log one JSON line per request")
      ->envname("BOXOFFICE_ACCESS_LOG");
  command
      .add_flag("--demo", config.demo,
                "Create a demo arena event when the data dir holds no events")
      ->envname("BOXOFFICE_DEMO");
  command.add_option("--session-ttl-s", config.session_ttl_s, "Lifetime of a session token")
      ->envname("BOXOFFICE_SESSION_TTL_S")
      ->check(CLI::Range(60u, 30u * 24 * 3600))
      ->capture_default_str();
  command
      .add_option("--hashing-threads", config.hashing_threads,
                  "Threads for password hashing (Argon2id, 19 MiB each)")
      ->envname("BOXOFFICE_HASHING_THREADS")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  command
      .add_option("--defense-allowlist", config.defense_allowlist,
                  "Comma-separated CIDRs that skip rate limits (monitoring, load tests)")
      ->envname("BOXOFFICE_DEFENSE_ALLOWLIST");
  command
      .add_flag("--rate-limits,!--no-rate-limits", config.rate_limits,
                "Rate-limit per address, prefix, session and customer (docs/defense.md)")
      ->envname("BOXOFFICE_RATE_LIMITS")
      ->capture_default_str();
  command
      .add_option("--rate-limit-slots", config.rate_limit_slots,
                  "Keys the rate limiter tracks (24 bytes each); older ones are evicted")
      ->envname("BOXOFFICE_RATE_LIMIT_SLOTS")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 26))
      ->capture_default_str();
}

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen) {
  const Error invalid =
      Error::Make(ErrorKind::kUnprocessable, "invalid_listen",
                  "--listen must be host:port or [ipv6]:port, not '" + listen + "'.");
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return invalid;
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return invalid;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return invalid;  // a bare IPv6 address needs brackets
  }
  unsigned port = 0;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  const auto [parsed_end, error] = std::from_chars(begin, end, port);
  if (begin == end || error != std::errc() || parsed_end != end || port > 65535) return invalid;
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

Result<http::ServerOptions> ToServerOptions(const ServeConfig& config) {
  Result<std::pair<std::string, std::uint16_t>> listen = ParseListen(config.listen);
  if (!listen) return listen.error();
  http::ServerOptions options;
  options.listen_host = listen->first;
  options.listen_port = listen->second;
  options.threads = config.threads;
  options.body_limit_bytes = config.body_limit_bytes;
  options.max_connections = config.max_connections;
  options.max_streams = config.max_streams;
  options.read_timeout_s = std::chrono::seconds(config.read_timeout_s);
  options.idle_timeout_s = std::chrono::seconds(config.idle_timeout_s);
  options.drain_timeout_s = std::chrono::seconds(config.drain_timeout_s);
  options.access_log = config.access_log;
  std::size_t start = 0;
  while (start < config.trusted_proxies.size()) {
    std::size_t comma = config.trusted_proxies.find(',', start);
    if (comma == std::string::npos) comma = config.trusted_proxies.size();
    std::string cidr = config.trusted_proxies.substr(start, comma - start);
    cidr.erase(0, cidr.find_first_not_of(' '));
    cidr.erase(cidr.find_last_not_of(' ') + 1);
    if (!cidr.empty()) options.trusted_proxies.push_back(std::move(cidr));
    start = comma + 1;
  }
  return options;
}

}  // namespace boxoffice::app
