// The Braintree adapter against a real `gateway-sim --api braintree` on loopback (in-process,
// serving HTTP on its own threads): approve, decline, error, timeout then lookup, capture, void,
// refund before and after settlement, and every repeat answered as done, never done twice.
#include "payments/gateways/braintree_gateway.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tools/gateway_sim.hpp"

namespace boxoffice {
namespace {

using tools::GatewaySim;
using tools::GatewaySimOptions;

std::unique_ptr<GatewaySim> StartBraintreeSim(GatewaySimOptions options = {}) {
  options.api = "braintree";
  options.api_key = "private_test";
  auto sim = std::make_unique<GatewaySim>(options);
  sim->Start();
  return sim;
}

BraintreeGateway BraintreeAdapter(
    const GatewaySim& sim, std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000)) {
  return BraintreeGateway(BraintreeGatewayOptions{.name = "bt",
                                                  .base_url = sim.base_url(),
                                                  .public_key = GatewaySimOptions{}.public_key,
                                                  .private_key = "private_test",
                                                  .merchant_account_id = "",
                                                  .connect_timeout = std::chrono::seconds(2),
                                                  .timeout = timeout,
                                                  .idle_connections_max = 4});
}

AuthorizeRequest BraintreeRequest(const std::string& key, const std::string& token = "tok_visa") {
  return AuthorizeRequest{key, 2500, "USD", token, key};
}

boost::json::array BraintreeTransactions(const GatewaySim& sim) {
  return boost::json::parse(sim.RecordsJson()).at("transactions").as_array();
}

TEST(BraintreeGatewayTest, AmountsHaveTwoDecimals) {
  EXPECT_EQ(BraintreeAmount(2500), "25.00");
  EXPECT_EQ(BraintreeAmount(5), "0.05");
  EXPECT_EQ(BraintreeAmount(123456), "1234.56");
}

// Authorize and capture; a refund before settlement voids the capture, a repeat says done.
TEST(BraintreeGatewayTest, AuthorizeCaptureAndRefundBeforeSettlement) {
  auto sim = StartBraintreeSim();
  BraintreeGateway gateway = BraintreeAdapter(*sim);
  const PaymentResult authorized = gateway.Authorize(BraintreeRequest("ord_1"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded) << authorized.message;
  EXPECT_EQ(authorized.payment.gateway, "bt");
  EXPECT_EQ(authorized.status, "requires_capture");
  const PaymentResult captured = gateway.Capture(authorized.payment, 2500, "ord_1");
  ASSERT_EQ(captured.outcome, PaymentOutcome::kSucceeded) << captured.message;
  EXPECT_EQ(captured.status, "succeeded");
  EXPECT_EQ(gateway.Capture(authorized.payment, 2500, "ord_1").outcome, PaymentOutcome::kSucceeded)
      << "a repeated capture is done already, not refused";
  const PaymentResult refunded = gateway.Refund(authorized.payment, 2500, "ord_1");
  ASSERT_EQ(refunded.outcome, PaymentOutcome::kSucceeded) << refunded.message;
  EXPECT_EQ(refunded.status, "refunded");
  EXPECT_EQ(BraintreeTransactions(*sim)[0].at("status").as_string(), "VOIDED")
      << "not settled yet: the capture is voided, the money never left";
}

// After settlement a refund is a refund, once, however often it is asked.
TEST(BraintreeGatewayTest, RefundAfterSettlementIsMadeOnce) {
  auto sim = StartBraintreeSim();
  BraintreeGateway gateway = BraintreeAdapter(*sim);
  const PaymentResult authorized = gateway.Authorize(BraintreeRequest("ord_2"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded);
  ASSERT_EQ(gateway.Capture(authorized.payment, 2500, "ord_2").outcome, PaymentOutcome::kSucceeded);
  sim->SettleCaptures();
  const PaymentResult refunded = gateway.Refund(authorized.payment, 2500, "ord_2");
  ASSERT_EQ(refunded.outcome, PaymentOutcome::kSucceeded) << refunded.message;
  EXPECT_EQ(refunded.payment.id, authorized.payment.id);
  EXPECT_EQ(gateway.Refund(authorized.payment, 2500, "ord_2").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(boost::json::parse(sim->RecordsJson()).at("refunds").as_int64(), 1);
}

// A void cancels the authorization; again is still a success; a capture then fails.
TEST(BraintreeGatewayTest, VoidCancels) {
  auto sim = StartBraintreeSim();
  BraintreeGateway gateway = BraintreeAdapter(*sim);
  const PaymentResult authorized = gateway.Authorize(BraintreeRequest("ord_3"));
  ASSERT_EQ(authorized.outcome, PaymentOutcome::kSucceeded);
  const PaymentResult voided = gateway.Void(authorized.payment, "ord_3");
  ASSERT_EQ(voided.outcome, PaymentOutcome::kSucceeded) << voided.message;
  EXPECT_EQ(voided.status, "canceled");
  EXPECT_EQ(gateway.Void(authorized.payment, "ord_3").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(gateway.Capture(authorized.payment, 2500, "ord_3").outcome, PaymentOutcome::kFailed);
}

// Declines are final, with a code; an outage or a wrong key did nothing.
TEST(BraintreeGatewayTest, DeclinesAndFailures) {
  auto sim = StartBraintreeSim();
  BraintreeGateway gateway = BraintreeAdapter(*sim);
  for (const char* token : {"tok_declined", "fake-processor-declined-visa-nonce"}) {
    const PaymentResult declined =
        gateway.Authorize(BraintreeRequest(std::string("d-") + token, token));
    EXPECT_EQ(declined.outcome, PaymentOutcome::kDeclined) << token;
    EXPECT_EQ(declined.decline_code, "card_declined");
    EXPECT_EQ(declined.status, "requires_payment_method");
  }
  // Processor response 2001 is the fan's bank saying no money, in Stripe's words for it.
  const PaymentResult short_of_funds =
      gateway.Authorize(BraintreeRequest("d-funds", "tok_insufficient_funds"));
  EXPECT_EQ(short_of_funds.outcome, PaymentOutcome::kDeclined);
  EXPECT_EQ(short_of_funds.decline_code, "insufficient_funds");
  EXPECT_EQ(gateway.Authorize(BraintreeRequest("e-1", "tok_error")).outcome,
            PaymentOutcome::kFailed);
  EXPECT_EQ(gateway.Authorize(BraintreeRequest("e-2", "tok_unknown")).outcome,
            PaymentOutcome::kFailed);
  BraintreeGatewayOptions wrong{.name = "bt",
                                .base_url = sim->base_url(),
                                .public_key = "someone_else",
                                .private_key = "private_test",
                                .merchant_account_id = "",
                                .connect_timeout = std::chrono::seconds(2),
                                .timeout = std::chrono::seconds(5),
                                .idle_connections_max = 1};
  EXPECT_EQ(BraintreeGateway(wrong).Authorize(BraintreeRequest("w-1")).outcome,
            PaymentOutcome::kFailed);

  GatewaySimOptions down;
  down.error_rate = 1.0;
  auto outage = StartBraintreeSim(down);
  EXPECT_EQ(BraintreeAdapter(*outage).Authorize(BraintreeRequest("o-1")).outcome,
            PaymentOutcome::kFailed);
  EXPECT_TRUE(BraintreeTransactions(*outage).empty());
}

// The authorization takes effect and its answer is lost: kUnknown; the lookup finds it, and the
// same key asked again answers the same transaction (apiRequestKey), never a second one.
TEST(BraintreeGatewayTest, TimeoutAfterTheEffectIsUnknownAndLookupFindsIt) {
  GatewaySimOptions options;
  options.timeout_rate = 1.0;
  options.timeout_hang_ms = 3'000;
  auto sim = StartBraintreeSim(options);
  BraintreeGateway gateway = BraintreeAdapter(*sim, std::chrono::milliseconds(300));
  const PaymentResult timed_out = gateway.Authorize(BraintreeRequest("ord_4"));
  EXPECT_EQ(timed_out.outcome, PaymentOutcome::kUnknown);
  const PaymentResult found = gateway.Lookup("ord_4");
  ASSERT_EQ(found.outcome, PaymentOutcome::kSucceeded) << found.message;
  EXPECT_EQ(found.status, "requires_capture");
  EXPECT_EQ(gateway.Lookup("ord_nobody").outcome, PaymentOutcome::kNotFound);
  ASSERT_EQ(BraintreeTransactions(*sim).size(), 1u);
  EXPECT_EQ(BraintreeTransactions(*sim)[0].at("orderId").as_string(), "ord_4");
}

// A repeat of an answered authorization with its key is the same transaction.
TEST(BraintreeGatewayTest, RepeatedAuthorizeIsTheSameTransaction) {
  auto sim = StartBraintreeSim();
  BraintreeGateway gateway = BraintreeAdapter(*sim);
  const PaymentResult first = gateway.Authorize(BraintreeRequest("ord_5"));
  const PaymentResult again = gateway.Authorize(BraintreeRequest("ord_5"));
  ASSERT_EQ(first.outcome, PaymentOutcome::kSucceeded);
  ASSERT_EQ(again.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(again.payment.id, first.payment.id);
  EXPECT_EQ(BraintreeTransactions(*sim).size(), 1u);
}

// Authorizations and lookups from one thread overlap: the simulator answers none until 12 wait.
TEST(BraintreeGatewayTest, ConcurrentCallsFromOneThread) {
  constexpr std::size_t kCalls = 12;
  GatewaySimOptions options;
  options.answer_together = kCalls;
  auto sim = StartBraintreeSim(options);
  BraintreeGateway gateway = BraintreeAdapter(*sim, std::chrono::milliseconds(30'000));
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
    gateway.AuthorizeAsync(BraintreeRequest("ord_many_" + std::to_string(i)), keep);
  }
  await_all();
  std::set<std::string> ids;
  for (const PaymentResult& result : results) {
    EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded) << result.message;
    ids.insert(result.payment.id);
  }
  EXPECT_EQ(ids.size(), kCalls);
  EXPECT_EQ(BraintreeTransactions(*sim).size(), kCalls);
  results.clear();
  for (std::size_t i = 0; i < kCalls; ++i) {
    gateway.LookupAsync("ord_many_" + std::to_string(i), keep);
  }
  await_all();
  for (const PaymentResult& result : results) {
    EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded) << result.message;
    EXPECT_EQ(result.status, "requires_capture");
    EXPECT_EQ(ids.count(result.payment.id), 1u);
  }
}

}  // namespace
}  // namespace boxoffice
