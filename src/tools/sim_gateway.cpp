#include "tools/sim_gateway.hpp"

#include <algorithm>

namespace boxoffice::tools {

bool SimCrash::Allow(std::string_view effect) {
  std::lock_guard lock(mutex_);
  if (crashed_) return false;
  ++effects_;
  if (crash_at_ == 0 || effects_ != crash_at_) return true;
  crash_at_ = 0;
  crashed_ = true;
  point_ = std::string(after_effect_ ? "after " : "before ") + std::string(effect);
  return after_effect_;  // after: the effect happens, then the process is gone
}

void SimCrash::Arm(std::uint64_t countdown, bool after_effect) {
  std::lock_guard lock(mutex_);
  crash_at_ = effects_ + countdown;
  after_effect_ = after_effect;
}

void SimCrash::Disarm() {
  std::lock_guard lock(mutex_);
  crash_at_ = 0;
}

bool SimCrash::crashed() const {
  std::lock_guard lock(mutex_);
  return crashed_;
}

std::string SimCrash::Revive() {
  std::lock_guard lock(mutex_);
  crashed_ = false;
  return std::exchange(point_, std::string());
}

std::uint64_t SimCrash::effects() const {
  std::lock_guard lock(mutex_);
  return effects_;
}

void SimBank::SetFaults(SimFaultRates rates) {
  std::lock_guard lock(mutex_);
  rates_ = rates;
}

std::vector<SimPayment> SimBank::Payments() const {
  std::lock_guard lock(mutex_);
  return payments_;
}

std::uint64_t SimBank::faults() const {
  std::lock_guard lock(mutex_);
  return faults_;
}

SimBank::Fault SimBank::Draw() {
  const double roll = std::uniform_real_distribution<double>(0, 1)(random_);
  Fault fault = Fault::kNone;
  if (roll < rates_.failed) {
    fault = Fault::kFailed;
  } else if (roll < rates_.failed + rates_.lost_request) {
    fault = Fault::kLostRequest;
  } else if (roll < rates_.failed + rates_.lost_request + rates_.lost_reply) {
    fault = Fault::kLostReply;
  }
  if (fault != Fault::kNone) ++faults_;
  return fault;
}

namespace {

PaymentResult SimAnswer(PaymentOutcome outcome, const PaymentRef& payment, std::string message) {
  PaymentResult result;
  result.outcome = outcome;
  result.payment = payment;
  result.message = std::move(message);
  return result;
}

}  // namespace

template <typename Effect>
PaymentResult SimBank::Move(std::string_view name, const PaymentRef& payment, Effect effect) {
  // A crashed boxoffice sends nothing: the call never reaches the gateway.
  if (crash_.crashed()) return SimAnswer(PaymentOutcome::kFailed, payment, "process down");
  const Fault fault = Draw();
  if (fault == Fault::kFailed) return SimAnswer(PaymentOutcome::kFailed, payment, "api_error");
  if (fault == Fault::kLostRequest) return SimAnswer(PaymentOutcome::kUnknown, payment, "timeout");
  if (!crash_.Allow(name)) return SimAnswer(PaymentOutcome::kFailed, payment, "process down");
  PaymentResult result = effect();
  if (fault == Fault::kLostReply) return SimAnswer(PaymentOutcome::kUnknown, payment, "timeout");
  return result;
}

PaymentResult SimBank::Authorize(const std::string& gateway, const AuthorizeRequest& request) {
  std::lock_guard lock(mutex_);
  if (request.payment_token == "tok_declined" && !crash_.crashed()) {
    PaymentResult declined = SimAnswer(PaymentOutcome::kDeclined, {gateway, ""}, "declined");
    declined.decline_code = "card_declined";
    return declined;
  }
  return Move("gateway.authorize", {gateway, ""}, [&] {
    auto [found, inserted] = by_key_.try_emplace({gateway, request.idempotency_key}, 0);
    if (inserted) {
      found->second = payments_.size();
      SimPayment payment{gateway,
                         "pi_" + gateway + "_" + std::to_string(payments_.size() + 1),
                         request.idempotency_key,
                         request.reference,
                         request.amount_cents,
                         "authorized"};
      by_id_[payment.id] = payments_.size();
      payments_.push_back(std::move(payment));
    }
    const SimPayment& payment = payments_[found->second];
    PaymentResult result = SimAnswer(PaymentOutcome::kSucceeded, {gateway, payment.id}, "");
    result.status = "requires_capture";
    return result;
  });
}

PaymentResult SimBank::Transition(std::string_view effect, const PaymentRef& payment,
                                  std::initializer_list<std::string_view> from, std::string_view to,
                                  std::string_view status, std::int64_t amount_cents) {
  std::lock_guard lock(mutex_);
  return Move(effect, payment, [&] {
    const auto found = by_id_.find(payment.id);
    if (found == by_id_.end()) return SimAnswer(PaymentOutcome::kDeclined, payment, "no payment");
    SimPayment& paid = payments_[found->second];
    // Repeating a call that took effect succeeds again and moves nothing: `to` is among `from`.
    if (std::find(from.begin(), from.end(), paid.state) == from.end() ||
        amount_cents > paid.amount_cents) {
      return SimAnswer(PaymentOutcome::kDeclined, payment,
                       std::string(effect) + " refused: " + paid.state);
    }
    paid.state = std::string(to);
    PaymentResult result = SimAnswer(PaymentOutcome::kSucceeded, payment, "");
    result.status = std::string(status);
    return result;
  });
}

PaymentResult SimBank::Capture(const PaymentRef& payment, std::int64_t amount_cents) {
  return Transition("gateway.capture", payment, {"authorized", "captured"}, "captured", "succeeded",
                    amount_cents);
}

PaymentResult SimBank::Void(const PaymentRef& payment) {
  return Transition("gateway.void", payment, {"authorized", "voided"}, "voided", "canceled", 0);
}

PaymentResult SimBank::Refund(const PaymentRef& payment) {
  return Transition("gateway.refund", payment, {"captured", "refunded"}, "refunded", "refunded", 0);
}

PaymentResult SimBank::Lookup(const std::string& gateway, const std::string& idempotency_key) {
  std::lock_guard lock(mutex_);
  if (crash_.crashed()) return SimAnswer(PaymentOutcome::kFailed, {gateway, ""}, "process down");
  if (std::uniform_real_distribution<double>(0, 1)(random_) < rates_.lookup_failed) {
    ++faults_;
    return SimAnswer(PaymentOutcome::kUnknown, {gateway, ""}, "timeout");
  }
  const auto found = by_key_.find({gateway, idempotency_key});
  if (found == by_key_.end()) return SimAnswer(PaymentOutcome::kNotFound, {gateway, ""}, "");
  const SimPayment& payment = payments_[found->second];
  PaymentResult result = SimAnswer(PaymentOutcome::kSucceeded, {gateway, payment.id}, "");
  result.status = payment.state == "authorized" ? "requires_capture"
                  : payment.state == "voided"   ? "canceled"
                                                : "succeeded";
  return result;
}

}  // namespace boxoffice::tools
