// The Stripe adapter against the real gateway simulator (in-process, on a loopback port): every
// call and every class of error goes over HTTP for real.
#include "payments/gateways/stripe_gateway.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tools/gateway_sim.hpp"

namespace boxoffice {
namespace {

using tools::GatewaySim;
using tools::GatewaySimOptions;

constexpr const char* kKey = "sk_test_adapter";

std::unique_ptr<GatewaySim> StartSim(GatewaySimOptions options = {}) {
  options.api_key = kKey;
  auto sim = std::make_unique<GatewaySim>(options);
  sim->Start();
  return sim;
}

StripeGateway Adapter(const GatewaySim& sim,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000)) {
  return StripeGateway(StripeGatewayOptions{
      .name = "sim", .base_url = sim.base_url() + "/", .api_key = kKey, .timeout = timeout});
}

AuthorizeRequest Request(const std::string& key, const std::string& token = "tok_visa") {
  return AuthorizeRequest{key, 2500, "USD", token, "ord_" + key};
}

boost::json::array Intents(const GatewaySim& sim) {
  return boost::json::parse(sim.RecordsJson()).at("payment_intents").as_array();
}

// Authorize, capture and refund, each answered as Stripe does.
TEST(StripeGatewayTest, AuthorizeCaptureRefund) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  PaymentResult authorized = gateway.Authorize(Request("order-1"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded) << authorized.message;
  EXPECT_EQ(authorized.payment.gateway, "sim");
  EXPECT_TRUE(authorized.payment.id.starts_with("pi_"));
  EXPECT_EQ(authorized.status, "requires_capture");

  PaymentResult captured = gateway.Capture(authorized.payment, 2500, "order-1");
  ASSERT_EQ(captured.outcome, PaymentOutcome::kSucceeded) << captured.message;
  EXPECT_EQ(captured.status, "succeeded");
  // A repeated capture with the same key is replayed, not refused.
  EXPECT_EQ(gateway.Capture(authorized.payment, 2500, "order-1").outcome,
            PaymentOutcome::kSucceeded);

  PaymentResult refunded = gateway.Refund(authorized.payment, 2500, "order-1");
  ASSERT_EQ(refunded.outcome, PaymentOutcome::kSucceeded) << refunded.message;
  EXPECT_EQ(refunded.payment.id, authorized.payment.id);
  EXPECT_EQ(gateway.Refund(authorized.payment, 2500, "order-1").outcome,
            PaymentOutcome::kSucceeded);  // replayed: refunded once
  const boost::json::object records = boost::json::parse(sim->RecordsJson()).as_object();
  EXPECT_EQ(records.at("refunds").as_int64(), 1);
  const boost::json::object& intent = records.at("payment_intents").as_array()[0].as_object();
  EXPECT_EQ(intent.at("metadata").at("idempotency_key").as_string(), "order-1");
  EXPECT_EQ(intent.at("metadata").at("reference").as_string(), "ord_order-1");
  EXPECT_EQ(intent.at("currency").as_string(), "usd");
}

// Void cancels an authorization; voiding again is still a success; capturing it then fails.
TEST(StripeGatewayTest, VoidCancels) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  PaymentResult authorized = gateway.Authorize(Request("order-2"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded);
  PaymentResult voided = gateway.Void(authorized.payment, "order-2");
  EXPECT_EQ(voided.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(voided.status, "canceled");
  EXPECT_EQ(gateway.Void(authorized.payment, "order-2").outcome, PaymentOutcome::kSucceeded);
  // Voided under another key (a recovery pass, say): already canceled counts as done.
  EXPECT_EQ(gateway.Void(authorized.payment, "recovery-2").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(gateway.Capture(authorized.payment, 2500, "order-2").outcome, PaymentOutcome::kFailed);
  EXPECT_EQ(gateway.Capture(PaymentRef{"sim", "pi_missing"}, 1, "x").outcome,
            PaymentOutcome::kFailed);
}

// Card declines come back as kDeclined with Stripe's decline code.
TEST(StripeGatewayTest, DeclinesCarryTheDeclineCode) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  PaymentResult declined = gateway.Authorize(Request("d1", "tok_declined"));
  EXPECT_EQ(declined.outcome, PaymentOutcome::kDeclined);
  EXPECT_EQ(declined.decline_code, "generic_decline");
  PaymentResult broke = gateway.Authorize(Request("d2", "tok_insufficient_funds"));
  EXPECT_EQ(broke.outcome, PaymentOutcome::kDeclined);
  EXPECT_EQ(broke.decline_code, "insufficient_funds");
  EXPECT_EQ(broke.status, "requires_payment_method");
}

// Retryable errors and refusals are kFailed: tok_error (500), a wrong key (401), an unknown
// token (400), a key reused with other parameters (400 idempotency_error), and a connection
// refused before anything was sent.
TEST(StripeGatewayTest, ErrorsAreFailed) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  EXPECT_EQ(gateway.Authorize(Request("e1", "tok_error")).outcome, PaymentOutcome::kFailed);
  EXPECT_EQ(gateway.Authorize(Request("e2", "tok_bogus")).outcome, PaymentOutcome::kFailed);
  StripeGateway wrong_key(
      StripeGatewayOptions{.name = "sim", .base_url = sim->base_url(), .api_key = "sk_test_wrong"});
  EXPECT_EQ(wrong_key.Authorize(Request("e3")).outcome, PaymentOutcome::kFailed);
  ASSERT_EQ(gateway.Authorize(Request("e4")).outcome, PaymentOutcome::kSucceeded);
  AuthorizeRequest other_amount = Request("e4");
  other_amount.amount_cents = 9999;
  PaymentResult reused = gateway.Authorize(other_amount);
  EXPECT_EQ(reused.outcome, PaymentOutcome::kFailed);
  EXPECT_NE(reused.message.find("idempotency_error"), std::string::npos) << reused.message;

  const std::string url = sim->base_url();
  sim->Stop();
  StripeGateway refused(StripeGatewayOptions{.name = "gone", .base_url = url, .api_key = kKey});
  EXPECT_EQ(refused.Authorize(Request("e5")).outcome, PaymentOutcome::kFailed);
  EXPECT_EQ(refused.Lookup("e5").outcome, PaymentOutcome::kFailed);
}

// The same key twice: the second answer is the first one replayed, and the simulator holds one
// payment intent that saw two create attempts.
TEST(StripeGatewayTest, RepeatedAuthorizeIsReplayed) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  PaymentResult first = gateway.Authorize(Request("same"));
  PaymentResult second = gateway.Authorize(Request("same"));
  ASSERT_EQ(first.outcome, PaymentOutcome::kSucceeded);
  ASSERT_EQ(second.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(first.payment.id, second.payment.id);
  const boost::json::array intents = Intents(*sim);
  ASSERT_EQ(intents.size(), 1u);
  EXPECT_EQ(intents[0].at("create_attempts").as_int64(), 2);
}

// Lookup finds an authorization by its idempotency key, and says kNotFound for an unused key.
TEST(StripeGatewayTest, LookupByIdempotencyKey) {
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  PaymentResult authorized = gateway.Authorize(Request("it's-a-key"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded);
  PaymentResult found = gateway.Lookup("it's-a-key");
  EXPECT_EQ(found.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(found.payment.id, authorized.payment.id);
  EXPECT_EQ(found.status, "requires_capture");
  EXPECT_EQ(gateway.Lookup("never-used").outcome, PaymentOutcome::kNotFound);
}

// A request that takes effect and then hangs past the client's timeout is kUnknown; the lookup
// then finds the authorization it made.
TEST(StripeGatewayTest, TimeoutAfterTheEffectIsUnknownAndLookupFindsIt) {
  GatewaySimOptions options;
  options.timeout_rate = 1.0;
  options.timeout_hang_ms = 5'000;
  auto sim = StartSim(options);
  StripeGateway gateway = Adapter(*sim, std::chrono::milliseconds(300));
  PaymentResult result = gateway.Authorize(Request("slow"));
  EXPECT_EQ(result.outcome, PaymentOutcome::kUnknown);
  PaymentResult found = Adapter(*sim).Lookup("slow");
  EXPECT_EQ(found.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(found.status, "requires_capture");
  EXPECT_EQ(Intents(*sim).size(), 1u);
}

// Two concurrent requests with the same key while the first is in flight: the simulator answers
// the second 409, which the adapter reports as kUnknown (the first may still succeed); there is
// one payment intent.
TEST(StripeGatewayTest, ConcurrentSameKeyIsUnknownNotASecondCharge) {
  GatewaySimOptions options;
  options.latency_ms = 2'000;
  auto sim = StartSim(options);
  StripeGateway gateway = Adapter(*sim);
  PaymentResult first;
  std::thread racer([&] { first = gateway.Authorize(Request("race")); });
  // The second request goes out once the simulator has the first in hand.
  for (int i = 0; i < 1000; ++i) {
    const boost::json::value records = boost::json::parse(sim->RecordsJson());
    if (records.at("create_attempts").as_object().contains("race")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  PaymentResult second = gateway.Authorize(Request("race"));
  racer.join();
  EXPECT_EQ(first.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(second.outcome, PaymentOutcome::kUnknown);
  EXPECT_EQ(Intents(*sim).size(), 1u);
}

// Many threads share one adapter (its pool of kept-alive handles): every authorization is
// made exactly once.
TEST(StripeGatewayTest, ConcurrentAuthorizationsEachMadeOnce) {
  GatewaySimOptions options;
  options.latency_ms = 5;
  auto sim = StartSim(options);
  StripeGateway gateway = Adapter(*sim);
  constexpr int kThreads = 6;
  constexpr int kEach = 40;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&gateway, &succeeded, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string key = "c" + std::to_string(t) + "-" + std::to_string(i);
        if (gateway.Authorize(Request(key)).outcome == PaymentOutcome::kSucceeded) {
          succeeded.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), kThreads * kEach);
  const boost::json::array intents = Intents(*sim);
  ASSERT_EQ(intents.size(), static_cast<std::size_t>(kThreads * kEach));
  for (const boost::json::value& intent : intents) {
    EXPECT_EQ(intent.at("create_attempts").as_int64(), 1);
  }
}

// One thread keeps many authorizations (and lookups) open at once: the simulator answers none
// until 24 wait, so a client that waited for each call before sending the next would get no
// answer at all and time out.
TEST(StripeGatewayTest, ConcurrentCallsFromOneThread) {
  constexpr std::size_t kCalls = 24;
  GatewaySimOptions options;
  options.answer_together = kCalls;
  options.latency_ms = 5;
  auto sim = StartSim(options);
  StripeGateway gateway = Adapter(*sim, std::chrono::milliseconds(30'000));
  std::mutex mutex;
  std::condition_variable answered;
  std::vector<PaymentResult> results;
  auto keep = [&](PaymentResult result) {
    std::lock_guard lock(mutex);
    results.push_back(std::move(result));
    answered.notify_all();
  };
  auto await_all = [&] {
    std::unique_lock lock(mutex);
    answered.wait(lock, [&] { return results.size() == kCalls; });
  };
  for (std::size_t i = 0; i < kCalls; ++i) {
    gateway.AuthorizeAsync(Request("many-" + std::to_string(i)), keep);
  }
  await_all();
  std::set<std::string> ids;
  for (const PaymentResult& result : results) {
    EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded) << result.message;
    EXPECT_EQ(result.status, "requires_capture");
    ids.insert(result.payment.id);
  }
  EXPECT_EQ(ids.size(), kCalls);
  EXPECT_EQ(Intents(*sim).size(), kCalls);

  results.clear();
  for (std::size_t i = 0; i < kCalls; ++i) gateway.LookupAsync("many-" + std::to_string(i), keep);
  await_all();
  for (const PaymentResult& result : results) {
    EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded) << result.message;
    EXPECT_EQ(ids.count(result.payment.id), 1u);
  }
}

// A card token goes as payment_method_data, a PaymentMethod id as payment_method: both authorize.
TEST(StripeGatewayTest, CardsGoInTheFormStripeDocuments) {
  EXPECT_EQ(
      PaymentMethodForm("tok_visa"),
      "&payment_method_data%5Btype%5D=card&payment_method_data%5Bcard%5D%5Btoken%5D=tok_visa");
  EXPECT_EQ(PaymentMethodForm("pm_card_visa"), "&payment_method=pm_card_visa");
  auto sim = StartSim();
  StripeGateway gateway = Adapter(*sim);
  EXPECT_EQ(gateway.Authorize(Request("order-pm", "pm_card_visa")).outcome,
            PaymentOutcome::kSucceeded);
  const PaymentResult refused = gateway.Authorize(Request("order-pm-2", "pm_card_chargeDeclined"));
  EXPECT_EQ(refused.outcome, PaymentOutcome::kDeclined);
  EXPECT_EQ(refused.decline_code, "generic_decline");
}

// Form encoding escapes everything but unreserved characters.
TEST(StripeGatewayTest, FormEncodes) {
  EXPECT_EQ(FormEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(FormEncode("a b&c=d'[]"), "a%20b%26c%3Dd%27%5B%5D");
}

}  // namespace
}  // namespace boxoffice
