#include "app/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include "common/cidr.hpp"
#include "common/text.hpp"
#include "http/cors.hpp"
#include "mail/mime.hpp"

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
      .add_option("--queue-sequence-block", config.queue_sequence_block,
                  "Queue sequence numbers reserved per durable write; a crash skips at most "
                  "this many")
      ->envname("BOXOFFICE_QUEUE_SEQUENCE_BLOCK")
      ->check(CLI::Range(std::uint64_t{4}, std::uint64_t{1} << 24))
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
  command
      .add_option("--cors-origins", config.cors_origins,
                  "Comma-separated origins of front ends served elsewhere that may call the API "
                  "from a browser (https://tickets.example.com); none by default")
      ->envname("BOXOFFICE_CORS_ORIGINS");
  command
      .add_option("--tls-cert", config.tls_cert,
                  "PEM certificate chain: serve HTTPS (TLS 1.2+) without a proxy in front; "
                  "needs --tls-key (docs/security.md says when to prefer a proxy)")
      ->envname("BOXOFFICE_TLS_CERT")
      ->check(CLI::ExistingFile);
  command.add_option("--tls-key", config.tls_key, "PEM private key of --tls-cert")
      ->envname("BOXOFFICE_TLS_KEY")
      ->check(CLI::ExistingFile);
  command
      .add_option("--hsts-max-age-s", config.hsts_max_age_s,
                  "With TLS: the Strict-Transport-Security max-age every answer carries; 0: none")
      ->envname("BOXOFFICE_HSTS_MAX_AGE_S")
      ->check(CLI::Range(0u, 63'072'000u))
      ->capture_default_str();
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
  command
      .add_option("--web-dir", config.web_dir,
                  "The fan page's built files (default: web/dist beside the binary's folder, "
                  "when it is there)")
      ->envname("BOXOFFICE_WEB_DIR");
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
  command
      .add_option("--gateway", config.gateways,
                  "A card gateway, repeatable: 'name=N,url=URL,key_env=VAR,weight=W' "
                  "(docs/payments.md)")
      ->envname("BOXOFFICE_GATEWAYS")
      ->delimiter(';');
  command
      .add_option("--order-workers", config.order_workers,
                  "Threads placing orders; they wait for the ledger, never for a gateway")
      ->envname("BOXOFFICE_ORDER_WORKERS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'024}))
      ->capture_default_str();
  command
      .add_option("--order-queue-max", config.order_queue_max,
                  "Orders waiting for a worker beyond this are answered 503 overloaded")
      ->envname("BOXOFFICE_ORDER_QUEUE_MAX")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--orders-in-flight-max", config.orders_in_flight_max,
                  "Orders accepted and not yet answered (most waiting for a gateway) beyond "
                  "this are answered 503 overloaded")
      ->envname("BOXOFFICE_ORDERS_IN_FLIGHT_MAX")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      .add_option("--outbox-concurrency", config.outbox_concurrency,
                  "Confirmed orders the outbox captures and tickets at once")
      ->envname("BOXOFFICE_OUTBOX_CONCURRENCY")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'024}))
      ->capture_default_str();
  command
      .add_option("--outbox-attempts-max", config.outbox_attempts_max,
                  "Tries of an outbox row before it is dead (an operator's alert)")
      ->envname("BOXOFFICE_OUTBOX_ATTEMPTS_MAX")
      ->check(CLI::Range(1u, 1'000u))
      ->capture_default_str();
  command
      .add_option("--outbox-backoff-base-ms", config.outbox_backoff_base_ms,
                  "Wait before an outbox row's second try, doubling for each try after")
      ->envname("BOXOFFICE_OUTBOX_BACKOFF_BASE_MS")
      ->check(CLI::Range(10u, 600'000u))
      ->capture_default_str();
  command
      .add_option("--outbox-backoff-max-s", config.outbox_backoff_max_s,
                  "The longest wait between two tries of an outbox row")
      ->envname("BOXOFFICE_OUTBOX_BACKOFF_MAX_S")
      ->check(CLI::Range(1u, 86'400u))
      ->capture_default_str();
  AddMailOptions(command, config.mail);
}

void AddMailOptions(CLI::App& command, MailConfig& config) {
  const CLI::Validator smtp_url(
      [](const std::string& url) {
        return url.starts_with("smtp://") || url.starts_with("smtps://")
                   ? std::string()
                   : "must start with smtp:// or smtps://";
      },
      "URL");
  const CLI::Validator address(
      [](const std::string& value) {
        return mail::ValidateAddress(value) ? std::string() : "must be a plain local@domain";
      },
      "ADDRESS");
  command
      .add_option("--smtp-url", config.smtp_url,
                  "Send mail through this SMTP relay (smtp:// or smtps://); without it, mails are "
                  "written as .eml files into <data-dir>/mail/")
      ->envname("BOXOFFICE_SMTP_URL")
      ->check(smtp_url);
  command
      .add_option("--smtp-user", config.smtp_user,
                  "SMTP login; the password is read from "
                  "BOXOFFICE_SMTP_PASSWORD")
      ->envname("BOXOFFICE_SMTP_USER");
  command
      .add_flag("--smtp-require-tls", config.smtp_require_tls,
                "Refuse to send when the relay does not offer STARTTLS")
      ->envname("BOXOFFICE_SMTP_REQUIRE_TLS");
  command
      .add_option("--smtp-timeout-s", config.smtp_timeout_s,
                  "Longest a mail may take to hand to the relay")
      ->envname("BOXOFFICE_SMTP_TIMEOUT_S")
      ->check(CLI::Range(1u, 600u))
      ->capture_default_str();
  command.add_option("--mail-from", config.from, "Sender address of fans' mails")
      ->envname("BOXOFFICE_MAIL_FROM")
      ->check(address)
      ->capture_default_str();
  command.add_option("--mail-from-name", config.from_name, "Sender name shown with --mail-from")
      ->envname("BOXOFFICE_MAIL_FROM_NAME")
      ->check(CLI::Validator(
          [](const std::string& name) {
            const bool clean = name.size() <= mail::kDisplayNameBytesMax &&
                               std::none_of(name.begin(), name.end(), [](char c) {
                                 return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                               });
            return clean ? std::string() : "must be at most 200 bytes without control characters";
          },
          "NAME"))
      ->capture_default_str();
}

namespace {

constexpr std::size_t kGatewaysMax = 16;
constexpr std::size_t kGatewayNameMax = 32;
// A Braintree public key or merchant account id: short words, far below this.
constexpr std::size_t kGatewaySettingMax = 128;
constexpr std::size_t kEnvironmentNameMax = 128;

Error InvalidGateway(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_gateway", std::move(message));
}

// Parses a whole unsigned number in [low, high].
bool ParseBounded(std::string_view text, unsigned low, unsigned high, unsigned& out) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    return false;
  }
  out = value;
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

}  // namespace

Result<GatewayConfig> ParseGatewaySpec(std::string_view spec) {
  GatewayConfig gateway;
  std::set<std::string, std::less<>> seen;
  std::string key_env;
  bool has_key = false;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view item = Trim(spec.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return InvalidGateway("gateway settings are key=value, separated by commas; '" +
                            std::string(item.substr(0, 20)) + "' has no '='.");
    }
    const std::string key(Trim(item.substr(0, equals)));
    const std::string_view value = Trim(item.substr(equals + 1));
    if (!seen.insert(key).second)
      return InvalidGateway("gateway setting '" + key + "' is repeated.");
    if (key == "name") {
      gateway.name = std::string(value);
    } else if (key == "api") {
      gateway.api = std::string(value);
    } else if (key == "public_key") {
      gateway.public_key = std::string(value);
    } else if (key == "merchant_account") {
      gateway.merchant_account = std::string(value);
    } else if (key == "url") {
      gateway.url = std::string(value);
    } else if (key == "key") {
      gateway.api_key = std::string(value);
      has_key = true;
    } else if (key == "key_env") {
      key_env = std::string(value);
    } else if (key == "weight") {
      if (!ParseBounded(value, 0, 1000, gateway.weight)) {
        return InvalidGateway("gateway weight must be a whole number from 0 to 1000.");
      }
    } else if (key == "timeout_ms") {
      if (!ParseBounded(value, 100, 120'000, gateway.timeout_ms)) {
        return InvalidGateway("gateway timeout_ms must be from 100 to 120000.");
      }
    } else if (key == "connect_timeout_ms") {
      if (!ParseBounded(value, 10, 60'000, gateway.connect_timeout_ms)) {
        return InvalidGateway("gateway connect_timeout_ms must be from 10 to 60000.");
      }
    } else {
      return InvalidGateway("unknown gateway setting '" + key.substr(0, 32) +
                            "'; known: name, api, url, key, key_env, public_key, "
                            "merchant_account, weight, timeout_ms, connect_timeout_ms.");
    }
  }
  if (gateway.name.empty() || gateway.name.size() > kGatewayNameMax ||
      gateway.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_") != std::string::npos) {
    return InvalidGateway("every gateway needs a name of up to 32 letters, digits, '-' or '_'.");
  }
  const std::string who = "gateway '" + gateway.name + "': ";
  if (gateway.api != "stripe" && gateway.api != "braintree") {
    return InvalidGateway(who + "api must be stripe or braintree.");
  }
  const bool braintree = gateway.api == "braintree";
  if (braintree && gateway.public_key.empty()) {
    return InvalidGateway(who +
                          "a Braintree gateway needs its public_key (the key is the "
                          "private key).");
  }
  if (!braintree && (!gateway.public_key.empty() || !gateway.merchant_account.empty())) {
    return InvalidGateway(who +
                          "public_key and merchant_account are Braintree's settings "
                          "(add api=braintree).");
  }
  for (const std::string* setting : {&gateway.public_key, &gateway.merchant_account}) {
    if (setting->size() > kGatewaySettingMax ||
        setting->find_first_of(" \t\r\n,") != std::string::npos) {
      return InvalidGateway(who + "public_key and merchant_account take up to " +
                            std::to_string(kGatewaySettingMax) + " characters without blanks.");
    }
  }
  if (!gateway.url.starts_with("http://") && !gateway.url.starts_with("https://")) {
    return InvalidGateway(who + "url must start with http:// or https://.");
  }
  if (gateway.url.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidGateway(who + "url must not contain blanks.");
  }
  if (has_key == !key_env.empty()) {
    return InvalidGateway(who + "give exactly one of key (the secret) and key_env (a variable).");
  }
  if (!key_env.empty()) {
    // A variable's name, checked before it is read or named in an error: "key_env=STRIPE
    // key=sk_live_..." (a blank where a comma belongs) holds the secret, and the message naming
    // the variable repeated it; a NUL cut the name short and read another variable (found by
    // fuzz/config_fuzzer.cpp).
    const bool variable_name = key_env.size() <= kEnvironmentNameMax &&
                               !(key_env[0] >= '0' && key_env[0] <= '9') &&
                               key_env.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_") == std::string::npos;
    if (!variable_name) {
      return InvalidGateway(who +
                            "key_env must name an environment variable: letters, digits and "
                            "'_', not starting with a digit.");
    }
    const char* secret = std::getenv(key_env.c_str());
    if (secret == nullptr || *secret == '\0') {
      return InvalidGateway(who + "the environment variable " + key_env + " is not set.");
    }
    gateway.api_key = secret;
  }
  if (gateway.api_key.empty()) return InvalidGateway(who + "the key is empty.");
  if (gateway.api_key.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidGateway(who + "the key must not contain blanks.");
  }
  return gateway;
}

Result<std::vector<GatewayConfig>> ParseGateways(const std::vector<std::string>& specs) {
  std::vector<GatewayConfig> gateways;
  std::set<std::string, std::less<>> names;
  unsigned weight_total = 0;
  for (const std::string& spec : specs) {
    if (Trim(spec).empty()) continue;
    Result<GatewayConfig> gateway = ParseGatewaySpec(spec);
    if (!gateway) return gateway.error();
    if (!names.insert(gateway->name).second) {
      return InvalidGateway("gateway name '" + gateway->name + "' is used twice.");
    }
    weight_total += gateway->weight;
    gateways.push_back(std::move(gateway).value());
  }
  if (gateways.size() > kGatewaysMax) {
    return InvalidGateway("at most " + std::to_string(kGatewaysMax) + " gateways.");
  }
  if (!gateways.empty() && weight_total == 0) {
    return InvalidGateway("at least one gateway needs a weight above 0.");
  }
  return gateways;
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
  options.trusted_proxies = SplitList(config.trusted_proxies);
  if (auto cidrs = CidrList::Parse(options.trusted_proxies); !cidrs) {
    return Error::Make(ErrorKind::kMalformed, "invalid_trusted_proxies",
                       "--trusted-proxies: " + cidrs.error().message);
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return Error::Make(ErrorKind::kMalformed, "invalid_tls",
                       "--tls-cert and --tls-key go together: give both, or neither");
  }
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  options.hsts_max_age_s = std::chrono::seconds(config.hsts_max_age_s);
  options.cors_origins = SplitList(config.cors_origins);
  if (auto cors = http::CorsPolicy::Parse(options.cors_origins); !cors) {
    return Error::Make(ErrorKind::kMalformed, "invalid_cors_origins",
                       "--cors-origins: " + cors.error().message);
  }
  return options;
}

}  // namespace boxoffice::app
