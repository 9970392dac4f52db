// The embedded adapter of the SeatInventory port (ports/seat_inventory.hpp): the seats of one
// event in memory, taken up to `limits.per_order` at a time all-or-nothing by compare-and-swap on
// the event's SeatTable, released, expired at a fixed deadline, sold; it chooses the best
// available seats and offers alternatives on a conflict.
//
// Seats are taken without a lock, in seat index order (which is seat id order within a row); the
// first seat that is not as the caller saw it rolls back every seat taken so far. Every change of
// a seat's status bumps its version, so a fan who saw an older version gets `seat_conflict`. The
// bookkeeping around the words (which hold owns which seats, per-customer totals, the expiry
// order) sits behind one mutex per event that the seat words themselves never wait for.
//
// It lives beside the domain rather than under src/store/ because it is where the hold rules
// (limits, best available, alternatives) are carried out on the words; a Redis adapter carries
// out the same rules in its scripts, and the port's conformance suite holds the two to them.
// Durability is not this class's business: HoldService journals what it does (hold_service.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catalog/catalog.hpp"
#include "catalog/event.hpp"
#include "catalog/seat_map.hpp"
#include "common/result.hpp"
#include "inventory/seat_table.hpp"
#include "ports/clock.hpp"
#include "ports/seat_inventory.hpp"

namespace boxoffice {

// The characters that end a hold id, after its event's: the slot and a per-run seed
// (hold_table.cpp says how). HoldService reads the event id back out of what comes before.
inline constexpr std::size_t kHoldIdSuffixChars = 16;

// Ended holds remembered per event so GET /v1/holds/{id} can still say "expired" or "released".
// Few: a fan looks at a hold soon after it ends, and a large map of them would cost every release
// a cache miss or two.
inline constexpr std::size_t kEndedHoldsKeptMax = 4'096;
// How often best_available searches again when another fan took its pick between search and swap.
inline constexpr int kBestAvailableAttemptsMax = 8;

class HoldTable final : public SeatInventory {
 public:
  // `event` and `map` belong to the catalog's Event and must outlive the table; the seat words
  // are the table's own.
  HoldTable(const EventDefinition& event, const SeatMap& map, const Clock& clock);
  // Makes the table of an event: the embedded SeatInventory (HoldService's factory).
  static std::function<std::unique_ptr<SeatInventory>(const Event&)> Factory(const Clock& clock);
  HoldTable(const HoldTable&) = delete;
  HoldTable& operator=(const HoldTable&) = delete;

  // Holds exactly these seats at these versions, or nothing. Errors: 403 not_on_sale before
  // onsale_at (both kinds of hold), 422 validation_failed (no
  // seats, a seat twice), 422 limit_exceeded (per_order, per_customer), 409 seat_conflict with
  // details {conflicts: [ids], alternatives: [{id, version}]}.
  Result<Hold> HoldSeats(const HoldOwner& owner, std::vector<SeatRequest> seats) override;
  // Holds the best `quantity` adjacent seats of one row. Errors: 422 validation_failed, 422
  // limit_exceeded, 422 validation_failed for an unknown section, 409 not_enough_seats.
  Result<Hold> HoldBestAvailable(const HoldOwner& owner,
                                 const BestAvailableRequest& request) override;

  // The hold, live or recently ended; a live hold past its deadline is expired first.
  std::optional<Hold> Find(std::string_view hold_id) override;
  // Ends a live hold and puts its seats back on sale. 404 hold_not_found when it is not live.
  Result<Hold> Release(std::string_view hold_id) override;
  // Ends every live hold whose deadline has passed; returns them, oldest deadline first.
  std::vector<Hold> ExpireDue() override;
  // Puts a journaled hold back (at start). Its seats must be available; 409 seat_conflict
  // otherwise, and nothing changes. A hold already past its deadline is refused the same way by
  // the caller, not here.
  Status Restore(const Hold& hold) override;

  // Sells the seats of a live hold of `session_id`: they go from held to sold (versions bump) and
  // the hold ends as ordered. Sold seats keep counting against the owner's per_customer limit.
  // 409 hold_expired when the hold is not live (ended, past its deadline) or not the session's.
  Result<Hold> Sell(std::string_view hold_id, std::string_view session_id) override;
  // Puts sold seats back on sale (an order that failed to confirm, a refund) and returns them to
  // `owner_key`'s allowance. Seats not sold are left alone. Returns how many moved.
  std::size_t Unsell(const std::vector<std::uint32_t>& seats,
                     const std::string& owner_key) override;
  // Marks seats sold at start, from the ledger. 409 seat_conflict (nothing changes) when one is
  // not available.
  Status RestoreSold(const std::vector<std::uint32_t>& seats,
                     const std::string& owner_key) override;

  // The best `quantity` adjacent available seats of one row (see HoldBestAvailable), unheld.
  std::optional<std::vector<std::uint32_t>> FindBestAvailable(const BestAvailableRequest& request,
                                                              std::uint32_t first,
                                                              std::uint32_t end) const;
  // `quantity` adjacent available seats of one row nearest to `near`, same section first.
  std::optional<std::vector<std::uint32_t>> FindNearest(std::uint32_t quantity,
                                                        std::uint32_t near) const;

  std::uint32_t size() const override { return seats_.size(); }
  SeatState Seat(std::uint32_t index) const override { return seats_.Load(index); }
  SeatCounts Counts() const override { return seats_.Counters(); }
  SeatCounts Scan() const override { return seats_.Count(); }
  bool CheckInvariant() const override { return seats_.CheckInvariant(); }
  std::uint64_t changes() const override { return seats_.changes(); }
  std::size_t live_holds() const override;
  HoldCounters counters() const override;
  const EventDefinition& event() const { return event_; }
  const SeatMap& seat_map() const { return map_; }

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
  SeatTable seats_;
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
