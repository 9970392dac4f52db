// Configuration of `boxoffice serve`. Every setting has a flag, a BOXOFFICE_* environment
// variable and a key in the optional config file (--config FILE, TOML style "key = value");
// a flag beats the config file, which beats the environment, which beats the default. The file
// outranks the environment because it is named on the command line: an explicit choice, where the
// environment is ambient.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/listen_address.hpp"
#include "common/result.hpp"
#include "http/server.hpp"

namespace boxoffice::app {

// Where confirmation mails go (app/mail_setup.hpp): `.eml` files in `<data-dir>/mail/` unless an
// SMTP relay is configured. The password is a secret, so it has no flag: BuildMailer takes it
// from BOXOFFICE_SMTP_PASSWORD when `smtp_password` is empty.
struct MailConfig {
  std::string smtp_url;  // smtp://host:587 (STARTTLS when offered) or smtps://host:465
  std::string smtp_user;
  std::string smtp_password;
  bool smtp_require_tls = false;
  unsigned smtp_timeout_s = 30;
  std::string from = "tickets@boxoffice.invalid";
  std::string from_name = "boxoffice";
};

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "data";
  unsigned threads = 0;
  std::size_t body_limit_bytes = 1 << 20;
  std::size_t max_connections = 10'000;
  std::size_t max_streams = 5'000;
  // Queue sequence numbers reserved per durable write (waitingroom/waiting_room.hpp): a crash
  // skips at most this many numbers; a smaller block costs a write per that many joins.
  std::uint64_t queue_sequence_block = 65'536;
  unsigned read_timeout_s = 30;
  unsigned idle_timeout_s = 60;
  unsigned drain_timeout_s = 25;
  std::string trusted_proxies;  // comma-separated CIDRs
  std::string cors_origins;     // comma-separated origins (http/cors.hpp)
  std::string tls_cert;         // PEM certificate chain; with tls_key: serve HTTPS directly
  std::string tls_key;          // PEM private key
  unsigned hsts_max_age_s = 31'536'000;
  std::string log_level = "info";
  bool access_log = false;
  bool demo = false;
  // The fan page (web/dist after `make web`); empty: <binary dir>/../web/dist if it exists, else
  // the server answers the API only.
  std::string web_dir;
  unsigned session_ttl_s = 24 * 3600;
  unsigned hashing_threads = 2;
  std::string defense_allowlist;  // comma-separated CIDRs that skip rate limits
  bool rate_limits = true;
  std::size_t rate_limit_slots = 1 << 20;
  MailConfig mail;
  // Card gateways, one spec each (see ParseGatewaySpec); BOXOFFICE_GATEWAYS separates them by ';'.
  std::vector<std::string> gateways;
  // Orders (orders/order_service.hpp): worker threads, orders waiting for one, and orders
  // accepted and not yet answered (most waiting for a gateway); beyond either bound, 503.
  std::size_t order_workers = 64;
  std::size_t order_queue_max = 2'048;
  std::size_t orders_in_flight_max = 10'000;
  // The outbox (orders/outbox_worker.hpp): rows captured at once, tries before a row is dead,
  // and the back-off between tries, doubling from the base up to the most.
  std::size_t outbox_concurrency = 16;
  unsigned outbox_attempts_max = 10;
  unsigned outbox_backoff_base_ms = 500;
  unsigned outbox_backoff_max_s = 300;
};

// One card gateway, from a spec such as
// "name=primary,url=https://api.stripe.com,key_env=STRIPE_KEY,weight=70".
// Keys: name (required; letters, digits, '-' and '_', up to 32), url (required, http:// or
// https://), key (the secret itself) or key_env (the environment variable that holds it; keeps
// the secret off the command line), weight (0..1000, default 1; 0 = standby, used only when the
// others fail), timeout_ms (100..120000, default 10000), connect_timeout_ms (10..60000, default
// 2000). Error messages never repeat the secret.
struct GatewayConfig {
  std::string name;
  std::string api = "stripe";  // the gateway's API: "stripe" or "braintree"
  std::string url;
  std::string api_key;           // Stripe's secret key, or Braintree's private key
  std::string public_key;        // Braintree only: sent with the private key
  std::string merchant_account;  // Braintree only, optional: the merchant account to charge
  unsigned weight = 1;
  unsigned timeout_ms = 10'000;
  unsigned connect_timeout_ms = 2'000;
};

// 422 invalid_gateway with a message naming the problem.
Result<GatewayConfig> ParseGatewaySpec(std::string_view spec);
// All specs; also refuses duplicate names, more than 16 gateways and weights that add up to 0.
Result<std::vector<GatewayConfig>> ParseGateways(const std::vector<std::string>& specs);

// Adds serve's options to `command`, bound to `config`.
void AddServeOptions(CLI::App& command, ServeConfig& config);
// The mail options alone (AddServeOptions includes them).
void AddMailOptions(CLI::App& command, MailConfig& config);

// The HTTP server's options from the config; fails on a bad --listen, --trusted-proxies or
// --cors-origins.
Result<http::ServerOptions> ToServerOptions(const ServeConfig& config);

}  // namespace boxoffice::app
