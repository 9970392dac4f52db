// The verdicts of an `onsale` run's audit (tools/onsale.hpp), as pure functions of what the run
// saw and what the server, its ledger and the gateway simulator show afterwards: no seat sold
// twice, every confirmed order kept and ticketed, no card charged twice, admissions in join
// order, and every waiting fan told when the event sold out. Fetching those facts is the run's
// (onsale_run.cpp); deciding is here, so each verdict can be tested on crafted inputs.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace boxoffice::tools::onsale {

// Admission order must agree with join order this well (Kendall's tau): fans skipped while away
// who came back are put in ahead of those behind them, which reorders a little.
inline constexpr double kQueueOrderTauMin = 0.95;

struct Check {
  std::string name;
  bool passed = false;
  std::string detail;
  bool skipped = false;  // could not be checked (no data); `passed` is then true
};

boost::json::object CheckJson(const Check& check);

// An order the server confirmed to a fan (201 on POST /v1/orders), with its tickets' seats.
struct ConfirmedOrder {
  std::string order_id;
  std::uint64_t fan = 0;
  std::vector<std::string> seats;
};

// 1. What the server says was sold, against the tickets the fans got.
struct SoldSeats {
  std::optional<std::uint64_t> sold_before;  // stats inventory.sold when the run started
  std::optional<std::uint64_t> sold_after;   // ... after it
  std::uint64_t capacity = 0;                // the event's seat_count
  // GET /v1/events/{id}/seats?status=sold after the run, when it answered.
  std::optional<std::vector<std::string>> sold_ids;
};
Check AuditSeatsSold(std::span<const ConfirmedOrder> orders, const SoldSeats& server);

// One confirmed order as GET /v1/orders/{id} shows it after the run.
struct LedgerOrder {
  bool found = false;
  std::string status;              // confirmed, completed, refunded
  std::vector<std::string> seats;  // its tickets' seat ids
  std::size_t codes = 0;           // tickets that carry a signed code
  bool by_operator = true;         // read with the operator key (else with the buyer's session)
  std::string error;               // why it was not found (status, code)
};
// Reads an order body into a LedgerOrder (found, status, seats, codes).
LedgerOrder ParseLedgerOrder(const boost::json::object& order);

// 2. `ledger[i]` is `orders[i]` read back.
Check AuditLedger(std::span<const ConfirmedOrder> orders, std::span<const LedgerOrder> ledger);
// 3. Each is completed with one ticket per seat, each with a code, after waiting `waited_s`.
Check AuditTickets(std::span<const ConfirmedOrder> orders, std::span<const LedgerOrder> ledger,
                   double waited_s);

// 4. The gateway simulator's records (GET /_sim/payment_intents).
struct PaymentIntent {
  std::string id;
  std::string status;  // requires_payment_method (declined), requires_capture, succeeded, canceled
  std::string reference;        // metadata.reference: the order id
  std::string idempotency_key;  // the create's key
  std::int64_t amount_received = 0;
};
std::vector<PaymentIntent> ParsePaymentIntents(const boost::json::object& records);
// `ignore` holds the ids of intents that existed before the run. `completed_orders` is how many
// of `orders` the ledger shows completed (captured).
Check AuditPayments(std::span<const PaymentIntent> intents, std::span<const std::string> ignore,
                    std::span<const ConfirmedOrder> orders, std::uint64_t completed_orders);

// 5. Admission order against join order.
struct QueueOrder {
  std::string policy = "fifo";  // or shuffle_prequeue
  // (sequence, admitted_as) of every admitted fan that saw both.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> places;
  // lives[i]: in which life of the server (0, then 1 after the first restart, ...) places[i]
  // was admitted; empty: all in one.
  std::vector<std::uint32_t> lives;
  std::uint64_t admitted_fans = 0;  // with or without the fields
  // Shuffled events: the seed's commitment seen before the opening, the seed and pre-queue size
  // revealed after it.
  std::optional<std::string> seed_sha256;
  std::optional<std::string> seed;
  std::optional<std::uint64_t> prequeue_size;
};
struct QueueOrderVerdict {
  Check check;
  std::optional<double> tau;
};
QueueOrderVerdict AuditQueueOrder(QueueOrder input);
// Where a fan with join number `sequence` (1-based) is served: its place after the published
// draw for pre-queue numbers (docs/api.md, "Shuffled pre-queue"), its number after that.
std::uint64_t ServedPlace(std::uint64_t sequence, const std::string& seed,
                          std::uint64_t prequeue_size);

// 6. Sold out, and everyone told: every fan in the queue at the sell-out or after (never
// admitted, not gone before it, not left on its own before it was told) saw sold_out or closed.
// Times are seconds since the run started; negative: never.
struct QueuedFan {
  double joined_s = -1;
  double admitted_s = -1;
  double ended_s = -1;  // stopped for its own reasons (abandoned, failed, bought) at
  double told_s = -1;   // first saw sold_out or closed
  bool abandoned = false;
};
struct ToldVerdict {
  Check check;
  std::optional<double> all_knew_after_s;  // sell-out to the last waiting fan told
};
ToldVerdict AuditEveryoneTold(std::optional<double> sold_out_s, std::span<const QueuedFan> fans);

}  // namespace boxoffice::tools::onsale
