// The conformance suites of the ledger ports (ports/ledger.hpp): the behaviour every adapter
// (SQLite, the in-memory one of the tests, PostgreSQL later) must show, so the embedded and the
// scaled-out deployments cannot drift apart. One suite per port, each in its own
// <port>_conformance_test.cpp, plus the durable-write contract they share; all are
// value-parameterised GoogleTests over a `LedgerFactory`, and an adapter joins every one of them
// in its own test file:
//
//   BOXOFFICE_LEDGER_CONFORMANCE(Sqlite, (LedgerFactory{"Sqlite", OpenSqliteInDir}));
//
// The factory opens the ledger whose data lives in a given directory; calling it again with the
// same directory after the previous ledger is destroyed must reopen the same data. The helpers
// below (a temporary directory, blocking write wrappers) are shared with adapter-specific tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

#include "common/result.hpp"
#include "ports/ledger.hpp"
#include "support/temp_dir.hpp"

namespace boxoffice::ledger_conformance {

// The shared test helper (tests/support/temp_dir.hpp), under the name these suites use.
using test_support::TempDir;

struct LedgerFactory {
  std::string name;  // the suffix of the test names, e.g. "Sqlite"
  // Opens the ledger stored in `dir`; null when that fails.
  std::function<std::unique_ptr<Ledger>(const std::string& dir)> open;
};

inline void PrintTo(const LedgerFactory& factory, std::ostream* out) { *out << factory.name; }

inline std::string LedgerFactoryName(const ::testing::TestParamInfo<LedgerFactory>& info) {
  return info.param.name;
}

class LedgerConformance : public ::testing::TestWithParam<LedgerFactory> {
 protected:
  // Opens the ledger in this test's directory; records a failure and returns null when the
  // adapter cannot open it (callers ASSERT on the pointer).
  std::unique_ptr<Ledger> Open() const {
    std::unique_ptr<Ledger> ledger = GetParam().open(dir_.path());
    if (ledger == nullptr) ADD_FAILURE() << GetParam().name << " ledger failed to open";
    return ledger;
  }

  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

inline Status InsertEventAndWait(Ledger& ledger, EventRecord event) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.InsertEvent(std::move(event), std::move(done)); });
}

inline Status InsertCustomerAndWait(Ledger& ledger, CustomerRecord customer) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.InsertCustomer(std::move(customer), std::move(done)); });
}

inline Status PutSettingAndWait(Ledger& ledger, std::string key, std::string value) {
  return WaitForDurable([&](Ledger::Done done) {
    ledger.PutSetting(std::move(key), std::move(value), std::move(done));
  });
}

inline Status InsertHoldAndWait(Ledger& ledger, HoldRecord hold) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.InsertHold(std::move(hold), std::move(done)); });
}

inline Status EndHoldAndWait(Ledger& ledger, std::string hold_id, std::string reason,
                             std::int64_t ended_at_ms) {
  return WaitForDurable([&](Ledger::Done done) {
    ledger.EndHold(std::move(hold_id), std::move(reason), ended_at_ms, std::move(done));
  });
}

// One suite per port; each adapter instantiates them all (BOXOFFICE_LEDGER_CONFORMANCE).
class DurableWriteConformance : public LedgerConformance {};
class EventStoreConformance : public LedgerConformance {};
class CustomerStoreConformance : public LedgerConformance {};
class SettingsStoreConformance : public LedgerConformance {};
class HoldJournalConformance : public LedgerConformance {};
class CheckoutLedgerConformance : public LedgerConformance {};
class CheckInLedgerConformance : public LedgerConformance {};
class DefenseListStoreConformance : public LedgerConformance {};
class OperatorKeyStoreConformance : public LedgerConformance {};
class AuditLogConformance : public LedgerConformance {};

// Records and blocking wrappers the suites share.

inline EventRecord MakeEvent(std::string id, std::int64_t created_at_ms = 1'700'000'000'000) {
  const std::string name = "Event " + id;
  return EventRecord{std::move(id), name, created_at_ms,
                     R"({"name":")" + name + R"(","capacity":100})"};
}

inline CustomerRecord MakeCustomer(std::string id, std::string email) {
  return CustomerRecord{std::move(id), std::move(email), "$argon2id$v=19$m=65536,t=2,p=1$hash",
                        1'700'000'000'000};
}

inline std::string FlushKey(int thread, int i) {
  return "flush_" + std::to_string(thread) + "_" + std::to_string(i);
}

// Collects the statuses of writes queued without waiting, by submission index.
class StatusLog {
 public:
  explicit StatusLog(std::size_t size) : statuses_(size), calls_(size) {}

  Ledger::Done At(std::size_t index) {
    return [this, index](Status status) {
      std::lock_guard lock(mutex_);
      statuses_[index] = std::move(status);
      ++calls_[index];
    };
  }
  Status status(std::size_t index) {
    std::lock_guard lock(mutex_);
    return statuses_[index];
  }
  int calls(std::size_t index) {
    std::lock_guard lock(mutex_);
    return calls_[index];
  }

 private:
  std::mutex mutex_;
  std::vector<Status> statuses_;
  std::vector<int> calls_;
};

inline HoldRecord MakeHold(std::string id, std::int64_t expires_at_ms = 1'700'000'600'000) {
  return HoldRecord{
      std::move(id), "evt_hold",        "ses_1",      "", R"([{"id":"101-A-1","version":1}])",
      25'000,        1'700'000'000'000, expires_at_ms};
}

// ---- Checkout ----

inline PaymentAttemptRecord MakeAttempt(std::string key, std::string order_id) {
  PaymentAttemptRecord attempt;
  attempt.idempotency_key = std::move(key);
  attempt.order_id = std::move(order_id);
  attempt.event_id = "evt_shop";
  attempt.amount_cents = 5'000;
  attempt.currency = "USD";
  attempt.state = "pending";
  attempt.created_at_ms = 1'700'000'000'000;
  return attempt;
}

inline IdempotencyRecord MakeKey(std::string scope, std::string key,
                                 std::string state = "in_flight") {
  return IdempotencyRecord{std::move(scope), std::move(key), "hash-1", std::move(state), 0, "",
                           1'700'000'000'000};
}

// An order of `seats` for hold `hold_id`, paid by attempt `pay_<order_id>`.
inline ConfirmOrderRecord MakeConfirm(const std::string& order_id, const std::string& hold_id,
                                      const std::vector<std::string>& seats) {
  ConfirmOrderRecord record;
  OrderRecord& order = record.order;
  order.id = order_id;
  order.event_id = "evt_shop";
  order.hold_id = hold_id;
  order.session_id = "ses_1";
  order.email = "fan@example.com";
  order.total_cents = 2'500 * static_cast<std::int64_t>(seats.size());
  order.currency = "USD";
  order.status = "confirmed";
  order.gateway = "sim";
  order.payment_id = "pi_" + order_id;
  order.payment_status = "authorized";
  order.created_at_ms = 1'700'000'001'000;
  order.updated_at_ms = order.created_at_ms;
  for (std::size_t i = 0; i < seats.size(); ++i) {
    order.tickets.push_back(TicketRecord{"tkt_" + order_id + "_" + std::to_string(i), order_id,
                                         "evt_shop", seats[i], 2'500, "", 0});
  }
  record.payment_key = "pay_" + order_id;
  record.first_outbox_attempt_at_ms = order.created_at_ms;
  return record;
}

inline HoldRecord MakeShopHold(std::string id) {
  return HoldRecord{std::move(id), "evt_shop", "ses_1",           "",
                    "[]",          5'000,      1'700'000'000'000, 1'700'000'600'000};
}

// Journals the hold and begins the payment an order of MakeConfirm needs.
inline void PrepareOrder(Ledger& ledger, const std::string& order_id, const std::string& hold_id) {
  ASSERT_TRUE(InsertHoldAndWait(ledger, MakeShopHold(hold_id)).ok());
  ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                ledger.BeginPayment(MakeAttempt("pay_" + order_id, order_id), IdempotencyRecord{},
                                    std::move(done));
              }).ok());
}

inline Status Confirm(Ledger& ledger, ConfirmOrderRecord record) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.ConfirmOrder(std::move(record), std::move(done)); });
}

inline Status Refund(Ledger& ledger, std::string order_id, std::string payment_status) {
  return WaitForDurable([&](Ledger::Done done) {
    ledger.RefundOrder(RefundOrderRecord{std::move(order_id), std::move(payment_status), 77, {}},
                       std::move(done));
  });
}

inline Status CheckInAndWait(Ledger& ledger, std::string ticket_id, std::string event_id,
                             std::int64_t at_ms) {
  return WaitForDurable([&](Ledger::Done done) {
    ledger.CheckIn(CheckInRecord{std::move(ticket_id), std::move(event_id), at_ms, "operator"},
                   std::move(done));
  });
}

}  // namespace boxoffice::ledger_conformance

// Runs every ledger port's suite against `factory` (a LedgerFactory in parentheses). Expand it
// inside namespace boxoffice::ledger_conformance (GoogleTest pastes the suite names into
// identifiers), e.g. in an adapter's test file:
//   namespace boxoffice::ledger_conformance {
//   BOXOFFICE_LEDGER_CONFORMANCE(Sqlite, (LedgerFactory{"Sqlite", OpenSqliteInDir}));
//   }
#define BOXOFFICE_LEDGER_CONFORMANCE(prefix, factory)                                      \
  INSTANTIATE_TEST_SUITE_P(prefix, DurableWriteConformance, ::testing::Values factory,     \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, EventStoreConformance, ::testing::Values factory,       \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, CustomerStoreConformance, ::testing::Values factory,    \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, SettingsStoreConformance, ::testing::Values factory,    \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, HoldJournalConformance, ::testing::Values factory,      \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, CheckoutLedgerConformance, ::testing::Values factory,   \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, CheckInLedgerConformance, ::testing::Values factory,    \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, DefenseListStoreConformance, ::testing::Values factory, \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, OperatorKeyStoreConformance, ::testing::Values factory, \
                           LedgerFactoryName);                                             \
  INSTANTIATE_TEST_SUITE_P(prefix, AuditLogConformance, ::testing::Values factory,         \
                           LedgerFactoryName)
