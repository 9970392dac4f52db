// The card gateways of the deterministic simulation (tools/sim_world.hpp): a bank that outlives
// every simulated crash of boxoffice, as a real processor outlives ours, and one PaymentGateway
// per configured gateway in front of it. The bank keeps the truth the simulation checks money
// against: every authorization, by gateway and idempotency key, with its state and the order it
// was made for.
//
// Faults come from the simulation's seeded dice, so a seed replays them exactly: an error that
// did nothing (kFailed), a lost request (kUnknown, nothing done) and a lost reply (kUnknown after
// the effect), for every call; lookups may fail too. Every effect first asks the crash plan
// (`SimCrash`), which may stop the world just before or just after it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ports/payment_gateway.hpp"

namespace boxoffice::tools {

// Where the next simulated crash falls: the n-th durable effect from now (a ledger write or a
// money movement at a gateway), just before it or just after it. Once crashed, every effect is
// refused until the world restarts (Revive). Thread-safe: effects happen on the ledger's writer
// and the order workers, one at a time.
class SimCrash {
 public:
  // Counts an effect named `effect`; false when it must not happen (the process is down).
  bool Allow(std::string_view effect);
  // Arms a crash at the `countdown`-th effect from now (1: the next one).
  void Arm(std::uint64_t countdown, bool after_effect);
  void Disarm();
  bool crashed() const;
  // The point the last crash fell on ("before ConfirmOrder"), and clears the crash.
  std::string Revive();
  std::uint64_t effects() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t effects_ = 0;
  std::uint64_t crash_at_ = 0;  // 0: none armed
  bool after_effect_ = false;
  bool crashed_ = false;
  std::string point_;
};

struct SimFaultRates {
  double failed = 0;         // answered with an error, nothing done
  double lost_request = 0;   // kUnknown, nothing done
  double lost_reply = 0;     // kUnknown, the effect happened
  double lookup_failed = 0;  // a lookup cannot say
};

struct SimPayment {
  std::string gateway;
  std::string id;  // "pi_<gateway>_<n>"
  std::string key;
  std::string reference;  // the order id
  std::int64_t amount_cents = 0;
  std::string state;  // "authorized", "captured", "voided", "refunded"
};

class SimBank {
 public:
  SimBank(std::uint64_t seed, SimCrash& crash) : random_(seed), crash_(crash) {}

  void SetFaults(SimFaultRates rates);
  // Every payment ever authorized, in authorization order.
  std::vector<SimPayment> Payments() const;
  std::uint64_t faults() const;

  PaymentResult Authorize(const std::string& gateway, const AuthorizeRequest& request);
  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents);
  PaymentResult Void(const PaymentRef& payment);
  PaymentResult Refund(const PaymentRef& payment);
  PaymentResult Lookup(const std::string& gateway, const std::string& idempotency_key);

 private:
  enum class Fault { kNone, kFailed, kLostRequest, kLostReply };
  Fault Draw();  // under mutex_
  // Runs a money movement: faults, the crash plan, then `effect` (which says whether it
  // succeeded); under mutex_.
  template <typename Effect>
  PaymentResult Move(std::string_view name, const PaymentRef& payment, Effect effect);
  // Moves a payment from one of the states `from` to `to` (capture, void, refund); declined
  // from any other state or above its authorized amount.
  PaymentResult Transition(std::string_view effect, const PaymentRef& payment,
                           std::initializer_list<std::string_view> from, std::string_view to,
                           std::string_view status, std::int64_t amount_cents);

  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  SimCrash& crash_;
  SimFaultRates rates_;
  std::uint64_t faults_ = 0;
  std::vector<SimPayment> payments_;                                   // by authorization order
  std::map<std::pair<std::string, std::string>, std::size_t> by_key_;  // (gateway, key)
  std::map<std::string, std::size_t> by_id_;
};

// One configured gateway ("sim-a") at the PaymentGateway port, in front of the bank.
class SimGateway final : public PaymentGateway {
 public:
  SimGateway(std::string name, SimBank& bank) : name_(std::move(name)), bank_(bank) {}

  const std::string& name() const override { return name_; }
  PaymentResult Authorize(const AuthorizeRequest& request) override {
    return bank_.Authorize(name_, request);
  }
  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string&) override {
    return bank_.Capture(payment, amount_cents);
  }
  PaymentResult Void(const PaymentRef& payment, const std::string&) override {
    return bank_.Void(payment);
  }
  PaymentResult Refund(const PaymentRef& payment, std::int64_t, const std::string&) override {
    return bank_.Refund(payment);
  }
  PaymentResult Lookup(const std::string& idempotency_key) override {
    return bank_.Lookup(name_, idempotency_key);
  }

 private:
  std::string name_;
  SimBank& bank_;
};

}  // namespace boxoffice::tools
