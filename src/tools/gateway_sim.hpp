// `boxoffice gateway-sim`: a local HTTP server that speaks the subset of Stripe's PaymentIntents
// API the Stripe adapter uses (create with manual capture, confirmed at once or by
// /confirm, capture, cancel, refunds, retrieve, search by metadata), with Stripe's Bearer keys,
// Idempotency-Key semantics, Request-Id headers and error shapes (an unknown route included), so
// that Stripe's own Node library works against it (tests/contract/test_stripe_node.mjs), and with
// faults on demand: latency, errors, ambiguous timeouts and declines. Cards are Stripe's test
// PaymentMethods (payment_method=pm_card_visa) or test tokens
// (payment_method_data[card][token]=tok_visa). Tests and benchmarks
// run it as a real server (a child process, or in-process through `GatewaySim`) so that the
// adapter's HTTP, timeouts and error mapping are exercised for real, not mocked.
//
// It records every payment intent and, per Idempotency-Key, how many create requests carried
// it; `GET /_sim/payment_intents` shows both, so a test can prove nobody was authorized twice.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace boxoffice::tools {

struct GatewaySimOptions {
  std::string listen = "127.0.0.1:0";
  // Which API it speaks: "stripe", or "braintree" (the GraphQL subset of
  // gateway_sim_braintree.hpp).
  std::string api = "stripe";
  // Stripe: requests must send `Authorization: Bearer KEY`. Braintree: the private key, sent with
  // `public_key` as HTTP basic authentication.
  std::string api_key = "sk_test_boxoffice";
  std::string public_key = "public_test_boxoffice";
  unsigned latency_ms = 0;            // added to every API answer, on a timer
  unsigned answer_together = 0;       // >1: answers held until this many wait (DelayQueue)
  double error_rate = 0;              // share of API requests answered 500 api_error, doing nothing
  double timeout_rate = 0;            // share of POSTs that take effect and then hang
  double decline_rate = 0;            // share of tok_visa creates declined with generic_decline
  unsigned timeout_hang_ms = 30'000;  // how long a "timed out" request hangs before answering
  std::uint64_t seed = 1;             // seeds the fault dice and the ids, for repeatable runs
  unsigned threads = 2;               // I/O threads
  // False when embedded in `serve --demo`: serve stops it after its own drain, so orders still
  // in flight at SIGTERM can finish their payments.
  bool stop_on_signals = true;
};

// Adds gateway-sim's flags to `command`, bound to `options`.
void AddGatewaySimOptions(CLI::App& command, GatewaySimOptions& options);

// The card tokens the simulator takes: tok_visa approves, tok_declined and tok_insufficient_funds
// decline, tok_error fails as a gateway outage would. The first three are also the test
// PaymentMethods pm_card_visa, pm_card_chargeDeclined and pm_card_chargeDeclinedInsufficientFunds.
std::span<const std::string_view> GatewaySimTestCards();

// A gateway simulator running on background threads; Stop() (or the destructor) ends it.
class GatewaySim {
 public:
  // Throws std::invalid_argument for an unusable option (bad --listen, rates outside 0..1).
  explicit GatewaySim(GatewaySimOptions options);
  ~GatewaySim();
  GatewaySim(const GatewaySim&) = delete;
  GatewaySim& operator=(const GatewaySim&) = delete;

  // Binds and starts serving; throws std::system_error when the address cannot be bound.
  void Start();
  // Answers every request still waiting on a timer, stops the server and joins its threads.
  void Stop();
  // Binds and serves on the calling thread until SIGTERM/SIGINT (the subcommand).
  void Run();

  std::uint16_t port() const;
  // "http://host:port", the base URL to configure a gateway with.
  std::string base_url() const;
  // The body of GET /_sim/payment_intents: {"payment_intents": [...], "create_attempts": {KEY:
  // N}, "refunds": N}; each intent also has its "idempotency_key" and "create_attempts". For
  // Braintree, GET /_sim/transactions' (gateway_sim_braintree.hpp).
  std::string RecordsJson() const;
  // Braintree: settles every capture, as POST /_sim/settle does (a no-op for Stripe).
  void SettleCaptures();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `gateway-sim` subcommand: prints "boxoffice gateway-sim: listening on URL", serves until
// SIGTERM/SIGINT, returns the exit code.
int RunGatewaySim(const GatewaySimOptions& options);

}  // namespace boxoffice::tools
