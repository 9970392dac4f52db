// `SeatInventory`: the seats of one event and the holds on them (DESIGN.md, "seat state +
// version, holds with TTL"). Every change of a seat's status bumps its version; a hold takes up
// to `limits.per_order` seats all or nothing, each at the version the fan saw, within the event's
// per-order and per-customer limits, and ends when released, expired (at its deadline) or sold.
// A seat is never in two live holds and never sold twice.
//
// The embedded adapter is the lock-free table of inventory/hold_table.hpp (one 64-bit word per
// seat, compare-and-swap); a Redis adapter (one script per hold) is to implement the same port
// and pass the same conformance suite (src/store/seat_inventory_conformance_test.cpp). Seats are
// named by their index in the event's SeatMap (catalog/seat_map.hpp). Durability is not the
// port's business: the HoldService journals what the inventory grants.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

enum class SeatStatus : std::uint8_t { kAvailable = 0, kHeld = 1, kSold = 2 };

constexpr std::string_view SeatStatusName(SeatStatus status) {
  switch (status) {
    case SeatStatus::kAvailable:
      return "available";
    case SeatStatus::kHeld:
      return "held";
    case SeatStatus::kSold:
      return "sold";
  }
  return "available";
}

struct SeatState {
  SeatStatus status = SeatStatus::kAvailable;
  std::uint32_t version = 0;
  std::uint32_t hold = 0;

  static constexpr std::uint32_t kVersionMask = (1u << 30) - 1;

  std::uint64_t Pack() const {
    return static_cast<std::uint64_t>(status) |
           (static_cast<std::uint64_t>(version & kVersionMask) << 2) |
           (static_cast<std::uint64_t>(hold) << 32);
  }
  static SeatState Unpack(std::uint64_t word) {
    return SeatState{static_cast<SeatStatus>(word & 3u),
                     static_cast<std::uint32_t>((word >> 2) & kVersionMask),
                     static_cast<std::uint32_t>(word >> 32)};
  }
  friend bool operator==(const SeatState&, const SeatState&) = default;
};

struct SeatCounts {
  std::uint32_t available = 0;
  std::uint32_t held = 0;
  std::uint32_t sold = 0;
};

// kOrdered: the hold became an order; its seats are sold.
enum class HoldStatus : std::uint8_t { kHeld, kReleased, kExpired, kOrdered };
constexpr std::string_view HoldStatusName(HoldStatus status) {
  switch (status) {
    case HoldStatus::kHeld:
      return "held";
    case HoldStatus::kReleased:
      return "released";
    case HoldStatus::kExpired:
      return "expired";
    case HoldStatus::kOrdered:
      return "ordered";
  }
  return "held";
}

struct HeldSeat {
  std::uint32_t index = 0;    // in the event's SeatMap
  std::uint32_t version = 0;  // the seat's version once held
};

struct Hold {
  std::string id;  // "hld_..."
  std::string event_id;
  std::string session_id;
  std::string customer_id;      // empty for a guest
  std::vector<HeldSeat> seats;  // ascending index
  std::int64_t total_cents = 0;
  TimePoint created_at;
  TimePoint expires_at;
  HoldStatus status = HoldStatus::kHeld;
  std::uint32_t slot = 0;  // the seat words' hold field; never 0
};

struct HoldOwner {
  std::string session_id;
  std::string customer_id;  // empty for a guest
  // Limits count per customer when signed in, else per session.
  const std::string& Key() const { return customer_id.empty() ? session_id : customer_id; }
};

struct SeatRequest {
  std::uint32_t index = 0;
  std::uint32_t version = 0;
};

struct BestAvailableRequest {
  std::uint32_t quantity = 0;
  std::optional<std::string> section;
  bool accessible = false;
};

// Totals since start, for /metrics.
struct HoldCounters {
  std::uint64_t created = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t not_enough_seats = 0;
  std::uint64_t limit_exceeded = 0;
  std::uint64_t released = 0;
  std::uint64_t expired = 0;
  std::uint64_t ordered = 0;
};

class SeatInventory {
 public:
  virtual ~SeatInventory() = default;

  // Holds exactly these seats at these versions, or nothing. Errors: 403 not_on_sale before
  // onsale_at (both kinds of hold), 422 validation_failed (no seats, a seat twice), 422
  // limit_exceeded (per_order, per_customer), 409 seat_conflict with details {conflicts: [ids],
  // alternatives: [{id, version}]}.
  virtual Result<Hold> HoldSeats(const HoldOwner& owner, std::vector<SeatRequest> seats) = 0;
  // Holds the best `quantity` adjacent seats of one row. Errors: 422 validation_failed (also for
  // an unknown section), 422 limit_exceeded, 409 not_enough_seats.
  virtual Result<Hold> HoldBestAvailable(const HoldOwner& owner,
                                         const BestAvailableRequest& request) = 0;
  // The hold, live or recently ended; a live hold past its deadline is expired first.
  virtual std::optional<Hold> Find(std::string_view hold_id) = 0;
  // Ends a live hold and puts its seats back on sale. 404 hold_not_found when it is not live.
  virtual Result<Hold> Release(std::string_view hold_id) = 0;
  // Ends every live hold whose deadline has passed; returns them, oldest deadline first.
  virtual std::vector<Hold> ExpireDue() = 0;
  // Puts a journaled hold back (at start). Its seats must be available; 409 seat_conflict
  // otherwise, and nothing changes.
  virtual Status Restore(const Hold& hold) = 0;
  // Sells the seats of a live hold of `session_id`: held to sold (versions bump), the hold ends
  // as ordered; the seats keep counting against the owner's per_customer limit. 409 hold_expired
  // when the hold is not live or not the session's.
  virtual Result<Hold> Sell(std::string_view hold_id, std::string_view session_id) = 0;
  // Puts sold seats back on sale (an order that failed to confirm, a refund) and returns them to
  // `owner_key`'s allowance. Seats not sold are left alone. Returns how many moved.
  virtual std::size_t Unsell(const std::vector<std::uint32_t>& seats,
                             const std::string& owner_key) = 0;
  // Marks seats sold at start, from the ledger. 409 seat_conflict (nothing changes) when one is
  // not available.
  virtual Status RestoreSold(const std::vector<std::uint32_t>& seats,
                             const std::string& owner_key) = 0;

  virtual std::uint32_t size() const = 0;  // seats
  virtual SeatState Seat(std::uint32_t index) const = 0;
  // Seats per status, O(1); always sums to size(). Under concurrent changes a snapshot may
  // differ from a scan for a moment.
  virtual SeatCounts Counts() const = 0;
  // Every seat's status counted one by one, O(seats): for checks and tests, not hot paths.
  virtual SeatCounts Scan() const = 0;
  // True when the counts agree with a scan and sum to size(); a drift that lasts is a bug.
  virtual bool CheckInvariant() const = 0;
  // Changes of seat status so far: a cheap version of the whole seat map (its ETag).
  virtual std::uint64_t changes() const = 0;
  virtual std::size_t live_holds() const = 0;
  virtual HoldCounters counters() const = 0;
};

}  // namespace boxoffice
