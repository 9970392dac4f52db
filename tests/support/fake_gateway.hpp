// A card gateway in memory, at the PaymentGateway port, for the tests of whatever pays through it
// (the order service, the payment router, the api). It behaves as the port promises: one
// authorization per idempotency key (a repeat changes nothing), capture only what is authorized
// and not voided, void only what is not captured, refund only what is captured, and lookup finds
// an authorization by its key; a capture repeated with its key succeeds again, charging once.
//
// By default the payment token decides, as the gateway simulator's test cards do: tok_declined
// declines, tok_error fails retryably, tok_timeout authorizes but answers kUnknown (a lost reply),
// anything else approves. A test can script authorizations instead (SetAuthorize, Script), say
// whether a scripted kUnknown took effect, make lookups fail, fail captures, block, fail or lose
// the replies of voids and refunds, and count calls.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ports/payment_gateway.hpp"

namespace boxoffice::test_support {

class FakeGateway final : public PaymentGateway {
 public:
  struct Payment {
    std::string key;
    std::int64_t amount_cents = 0;
    std::string state;  // "authorized", "captured", "voided", "refunded"
  };

  explicit FakeGateway(std::string name = "fake") : name_(std::move(name)) {}

  const std::string& name() const override { return name_; }

  PaymentResult Authorize(const AuthorizeRequest& request) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      ++authorize_calls_;
      hook = during_authorize_;
    }
    if (hook) hook();
    std::lock_guard lock(mutex_);
    std::optional<PaymentOutcome> scripted = authorize_outcome_;
    if (!script_.empty()) {
      scripted = script_.front();
      script_.pop_front();
    }
    PaymentOutcome outcome = PaymentOutcome::kSucceeded;
    bool took_effect = true;
    if (scripted) {
      outcome = *scripted;
      took_effect = outcome == PaymentOutcome::kSucceeded ||
                    (outcome == PaymentOutcome::kUnknown && unknown_takes_effect_);
    } else if (request.payment_token == "tok_declined") {
      outcome = PaymentOutcome::kDeclined;
      took_effect = false;
    } else if (request.payment_token == "tok_error") {
      outcome = PaymentOutcome::kFailed;
      took_effect = false;
    } else if (request.payment_token == "tok_timeout") {
      outcome = PaymentOutcome::kUnknown;
    }
    PaymentResult result;
    result.outcome = outcome;
    result.payment.gateway = name_;
    if (outcome == PaymentOutcome::kDeclined) {
      result.decline_code = scripted ? "insufficient_funds" : "card_declined";
    }
    if (outcome == PaymentOutcome::kFailed) result.message = "gateway error";
    if (!took_effect) return result;
    auto [found, inserted] = by_key_.try_emplace(request.idempotency_key);
    if (inserted) {
      found->second = "pi_" + name_ + "_" + std::to_string(payments_.size() + 1);
      payments_[found->second] =
          Payment{request.idempotency_key, request.amount_cents, "authorized"};
    }
    // A reply lost on the way back: the authorization exists, the caller does not know it.
    if (outcome == PaymentOutcome::kUnknown) {
      result.message = "timed out";
      return result;
    }
    result.payment.id = found->second;
    result.status = "requires_capture";
    return result;
  }

  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string&) override {
    std::lock_guard lock(mutex_);
    ++capture_calls_;
    if (capture_failures_ > 0) {
      --capture_failures_;
      return PaymentResult{PaymentOutcome::kFailed, payment, "", "", "capture failed"};
    }
    auto found = payments_.find(payment.id);
    // A capture repeated (after a crash, with the same key) succeeds again and charges once.
    if (found == payments_.end() ||
        (found->second.state != "authorized" && found->second.state != "captured") ||
        amount_cents > found->second.amount_cents) {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot capture"};
    }
    found->second.state = "captured";
    return PaymentResult{PaymentOutcome::kSucceeded, payment, "succeeded", "", ""};
  }

  PaymentResult Void(const PaymentRef& payment, const std::string&) override {
    std::unique_lock lock = EnterReturn(void_calls_);
    if (return_failures_ > 0) {
      --return_failures_;
      return PaymentResult{PaymentOutcome::kFailed, payment, "", "", "void failed"};
    }
    auto found = payments_.find(payment.id);
    if (found == payments_.end() || found->second.state == "captured" ||
        found->second.state == "refunded") {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot void"};
    }
    found->second.state = "voided";
    return Returned(PaymentResult{PaymentOutcome::kSucceeded, payment, "canceled", "", ""});
  }

  PaymentResult Refund(const PaymentRef& payment, std::int64_t, const std::string&) override {
    std::unique_lock lock = EnterReturn(refund_calls_);
    if (return_failures_ > 0) {
      --return_failures_;
      return PaymentResult{PaymentOutcome::kFailed, payment, "", "", "refund failed"};
    }
    auto found = payments_.find(payment.id);
    // A refund repeated with its key succeeds again and gives the money back once.
    if (found != payments_.end() && found->second.state == "refunded") {
      return Returned(PaymentResult{PaymentOutcome::kSucceeded, payment, "refunded", "", ""});
    }
    if (found == payments_.end() || found->second.state != "captured") {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot refund"};
    }
    found->second.state = "refunded";
    return Returned(PaymentResult{PaymentOutcome::kSucceeded, payment, "refunded", "", ""});
  }

  PaymentResult Lookup(const std::string& idempotency_key) override {
    std::lock_guard lock(mutex_);
    ++lookup_calls_;
    if (lookup_outcome_ != PaymentOutcome::kSucceeded) {
      return PaymentResult{lookup_outcome_, {name_, ""}, "", "", "lookup failed"};
    }
    auto found = by_key_.find(idempotency_key);
    if (found == by_key_.end()) return PaymentResult{PaymentOutcome::kNotFound, {}, "", "", ""};
    return PaymentResult{
        PaymentOutcome::kSucceeded, {name_, found->second}, "requires_capture", "", ""};
  }

  // Every later authorization answers `outcome` (until Script, or another SetAuthorize).
  void SetAuthorize(PaymentOutcome outcome) {
    std::lock_guard lock(mutex_);
    authorize_outcome_ = outcome;
  }
  // The next authorizations answer these, in order, before SetAuthorize or the token decides.
  void Script(std::deque<PaymentOutcome> outcomes) {
    std::lock_guard lock(mutex_);
    script_ = std::move(outcomes);
  }
  // Whether a scripted kUnknown authorized anyway (the reply was lost, not the request).
  void SetUnknownTakesEffect(bool value) {
    std::lock_guard lock(mutex_);
    unknown_takes_effect_ = value;
  }
  // Lookups answer `outcome` instead of searching (kSucceeded: search again).
  void SetLookup(PaymentOutcome outcome) {
    std::lock_guard lock(mutex_);
    lookup_outcome_ = outcome;
  }
  // Runs inside Authorize before it decides (to move a clock or block a thread).
  void DuringAuthorize(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    during_authorize_ = std::move(hook);
  }
  // Runs inside Void and Refund before they decide (to block a thread).
  void DuringReturn(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    during_return_ = std::move(hook);
  }
  // The next `count` voids or refunds fail retryably and do nothing.
  void FailReturns(int count) {
    std::lock_guard lock(mutex_);
    return_failures_ = count;
  }
  // The next `count` voids or refunds that take effect answer kUnknown (their reply is lost).
  void LoseReturnReplies(int count) {
    std::lock_guard lock(mutex_);
    lost_return_replies_ = count;
  }
  // The next `count` captures fail retryably.
  void FailCaptures(int count) {
    std::lock_guard lock(mutex_);
    capture_failures_ = count;
  }

  int authorize_calls() const { return Read(authorize_calls_); }
  int capture_calls() const { return Read(capture_calls_); }
  int void_calls() const { return Read(void_calls_); }
  int refund_calls() const { return Read(refund_calls_); }
  int lookup_calls() const { return Read(lookup_calls_); }
  // Payments by state, e.g. Count("authorized").
  int Count(const std::string& state) const {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& [id, payment] : payments_) count += payment.state == state ? 1 : 0;
    return count;
  }
  std::size_t payments() const {
    std::lock_guard lock(mutex_);
    return payments_.size();
  }
  // Authorizations that took effect under `key`: 0 or 1, as one authorization per key is the rule.
  std::size_t authorized_count(const std::string& key) const {
    std::lock_guard lock(mutex_);
    return by_key_.count(key);
  }

 private:
  // Counts a void or refund, runs the hook unlocked, and returns holding the lock.
  std::unique_lock<std::mutex> EnterReturn(int& calls) {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      ++calls;
      hook = during_return_;
    }
    if (hook) hook();
    return std::unique_lock(mutex_);
  }
  // A void or refund that took effect, answered as it is or lost (LoseReturnReplies).
  PaymentResult Returned(PaymentResult result) {
    if (lost_return_replies_ == 0) return result;
    --lost_return_replies_;
    return PaymentResult{PaymentOutcome::kUnknown, result.payment, "", "", "reply lost"};
  }

  int Read(const int& counter) const {
    std::lock_guard lock(mutex_);
    return counter;
  }

  const std::string name_;
  mutable std::mutex mutex_;
  std::map<std::string, Payment> payments_;    // by payment id
  std::map<std::string, std::string> by_key_;  // idempotency key -> payment id
  std::optional<PaymentOutcome> authorize_outcome_;
  std::deque<PaymentOutcome> script_;
  bool unknown_takes_effect_ = false;
  PaymentOutcome lookup_outcome_ = PaymentOutcome::kSucceeded;
  std::function<void()> during_authorize_;
  std::function<void()> during_return_;
  int return_failures_ = 0;
  int lost_return_replies_ = 0;
  int authorize_calls_ = 0;
  int capture_calls_ = 0;
  int void_calls_ = 0;
  int refund_calls_ = 0;
  int lookup_calls_ = 0;
  int capture_failures_ = 0;
};

}  // namespace boxoffice::test_support
