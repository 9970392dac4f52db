// The seat holds of one event, in memory: taking up to `limits.per_order` seats all-or-nothing by
// compare-and-swap on the event's SeatTable, releasing them, expiring them at a fixed deadline,
// choosing the best available seats and offering alternatives on a conflict.
//
// Seats are taken without a lock, in seat index order (which is seat id order within a row); the
// first seat that is not as the caller saw it rolls back every seat taken so far. Every change of
// a seat's status bumps its version, so a fan who saw an older version gets `seat_conflict`. The
// bookkeeping around the words (which hold owns which seats, per-customer totals, the expiry
// order) sits behind one mutex per event that the seat words themselves never wait for.
//
// Durability is not this class's business: HoldService journals what it does (hold_service.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catalog/event.hpp"
#include "catalog/seat_map.hpp"
#include "common/result.hpp"
#include "inventory/seat_table.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

// Ended holds remembered per event so GET /v1/holds/{id} can still say "expired" or "released".
// Few: a fan looks at a hold soon after it ends, and a large map of them would cost every release
// a cache miss or two.
inline constexpr std::size_t kEndedHoldsKeptMax = 4'096;
// How often best_available searches again when another fan took its pick between search and swap.
inline constexpr int kBestAvailableAttemptsMax = 8;

// kOrdered: the hold became an order; its seats are sold.
enum class HoldStatus : std::uint8_t { kHeld, kReleased, kExpired, kOrdered };
std::string_view HoldStatusName(HoldStatus status);

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

class HoldTable {
 public:
  // `event`, `map` and `seats` belong to the catalog's Event and must outlive the table.
  HoldTable(const EventDefinition& event, const SeatMap& map, SeatTable& seats, const Clock& clock);
  HoldTable(const HoldTable&) = delete;
  HoldTable& operator=(const HoldTable&) = delete;

  // Holds exactly these seats at these versions, or nothing. Errors: 403 not_on_sale before
  // onsale_at (both kinds of hold), 422 validation_failed (no
  // seats, a seat twice), 422 limit_exceeded (per_order, per_customer), 409 seat_conflict with
  // details {conflicts: [ids], alternatives: [{id, version}]}.
  Result<Hold> HoldSeats(const HoldOwner& owner, std::vector<SeatRequest> seats);
  // Holds the best `quantity` adjacent seats of one row. Errors: 422 validation_failed, 422
  // limit_exceeded, 422 validation_failed for an unknown section, 409 not_enough_seats.
  Result<Hold> HoldBestAvailable(const HoldOwner& owner, const BestAvailableRequest& request);

  // The hold, live or recently ended; a live hold past its deadline is expired first.
  std::optional<Hold> Find(std::string_view hold_id);
  // Ends a live hold and puts its seats back on sale. 404 hold_not_found when it is not live.
  Result<Hold> Release(std::string_view hold_id);
  // Ends every live hold whose deadline has passed; returns them, oldest deadline first.
  std::vector<Hold> ExpireDue();
  // Puts a journaled hold back (at start). Its seats must be available; 409 seat_conflict
  // otherwise, and nothing changes. A hold already past its deadline is refused the same way by
  // the caller, not here.
  Status Restore(const Hold& hold);

  // Sells the seats of a live hold of `session_id`: they go from held to sold (versions bump) and
  // the hold ends as ordered. Sold seats keep counting against the owner's per_customer limit.
  // 409 hold_expired when the hold is not live (ended, past its deadline) or not the session's.
  Result<Hold> Sell(std::string_view hold_id, std::string_view session_id);
  // Puts sold seats back on sale (an order that failed to confirm, a refund) and returns them to
  // `owner_key`'s allowance. Seats not sold are left alone. Returns how many moved.
  std::size_t Unsell(const std::vector<std::uint32_t>& seats, const std::string& owner_key);
  // Marks seats sold at start, from the ledger. 409 seat_conflict (nothing changes) when one is
  // not available.
  Status RestoreSold(const std::vector<std::uint32_t>& seats, const std::string& owner_key);

  // The best `quantity` adjacent available seats of one row (see HoldBestAvailable), unheld.
  std::optional<std::vector<std::uint32_t>> FindBestAvailable(const BestAvailableRequest& request,
                                                              std::uint32_t first,
                                                              std::uint32_t end) const;
  // `quantity` adjacent available seats of one row nearest to `near`, same section first.
  std::optional<std::vector<std::uint32_t>> FindNearest(std::uint32_t quantity,
                                                        std::uint32_t near) const;

  std::size_t live_holds() const;
  HoldCounters counters() const;
  const EventDefinition& event() const { return event_; }
  const SeatMap& seat_map() const { return map_; }
  SeatTable& seats() { return seats_; }

 private:
  struct Block {
    std::uint32_t first = 0;  // seat index of the block's first seat
    std::uint32_t quantity = 0;
  };
  // Calls `visit(row_first, row_end)` for every row whose seats lie in [first, end).
  template <typename Visit>
  void ForEachRow(std::uint32_t first, std::uint32_t end, Visit&& visit) const;

  // 403 not_on_sale before the event's onsale_at.
  Status CheckOnSale() const;
  // Reserves `quantity` seats of the owner's per_customer allowance; false when over it.
  bool ReserveAllowance(const std::string& owner_key, std::uint32_t quantity);
  void ReturnAllowance(const std::string& owner_key, std::uint32_t quantity);
  std::uint32_t NextSlot();
  // The slot a hold id of this event names, or nullopt for an id that is not one of ours.
  std::optional<std::uint32_t> SlotOfId(std::string_view hold_id) const;
  // Swaps the seats into the hold (all or nothing). On failure returns the position in `seats`
  // of the seat that was not as expected.
  std::optional<std::size_t> TakeSeats(const std::vector<SeatRequest>& seats, std::uint32_t slot,
                                       std::vector<HeldSeat>& taken);
  void ReturnSeats(const std::vector<HeldSeat>& seats, std::uint32_t slot);
  // Under mutex_: ends a live hold, returns its seats, remembers it as ended.
  Hold EndLocked(std::uint32_t slot, HoldStatus status);
  Hold Register(const HoldOwner& owner, std::uint32_t slot, std::vector<HeldSeat> taken);
  Error ConflictError(const std::vector<SeatRequest>& seats, std::size_t failed_at) const;
  Error LimitError(std::string_view which, std::uint32_t limit);

  const EventDefinition& event_;
  const SeatMap& map_;
  SeatTable& seats_;
  const Clock& clock_;
  const std::chrono::seconds hold_ttl_;
  const std::uint64_t id_seed_;  // makes this run's hold ids differ from earlier runs'
  const std::string id_prefix_;  // "hld_" + the event id without "evt_"

  std::atomic<std::uint32_t> next_slot_{0};

  mutable std::mutex mutex_;
  std::unordered_map<std::uint32_t, Hold> live_;                   // by slot
  std::set<std::pair<TimePoint, std::uint32_t>> deadlines_;        // (expires_at, slot)
  std::unordered_map<std::string, std::uint32_t> allowance_used_;  // owner key -> seats held
  std::unordered_map<std::uint32_t, Hold> ended_;                  // by slot
  std::deque<std::uint32_t> ended_order_;  // slots, oldest first, to bound ended_

  std::atomic<std::uint64_t> created_{0};
  std::atomic<std::uint64_t> conflicts_{0};
  std::atomic<std::uint64_t> not_enough_seats_{0};
  std::atomic<std::uint64_t> limit_exceeded_{0};
  std::atomic<std::uint64_t> released_{0};
  std::atomic<std::uint64_t> expired_{0};
  std::atomic<std::uint64_t> ordered_{0};
};

}  // namespace boxoffice
