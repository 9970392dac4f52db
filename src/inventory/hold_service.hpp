// Seat holds across every event, made durable: each event's SeatInventory does the holding,
// and this service journals it through the HoldJournal port (ports/hold_journal.hpp). A hold is
// acknowledged only once its journal row is durable; a release is acknowledged once its end is
// durable; at start the holds the journal still calls live are put back into the seat tables, and
// those past their deadline are ended instead.
//
// Seats go back on sale the moment a hold is released or expires, before the end is journaled,
// so a crash in between can leave the journal with two live holds naming one seat. A seat can only
// have passed to the later hold after the earlier one ended, so restore keeps the later one and
// ends the earlier ("superseded").
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.hpp"
#include "common/result.hpp"
#include "ports/clock.hpp"
#include "ports/hold_journal.hpp"
#include "ports/seat_inventory.hpp"

namespace boxoffice {

// Makes the SeatInventory of an event (the adapter: HoldTable::Factory for the embedded one).
using SeatInventoryFactory = std::function<std::unique_ptr<SeatInventory>(const Event& event)>;

class HoldService {
 public:
  HoldService(Catalog& catalog, HoldJournal& journal, const Clock& clock,
              SeatInventoryFactory make_inventory);
  // On the embedded inventory (HoldTable).
  HoldService(Catalog& catalog, HoldJournal& journal, const Clock& clock);
  HoldService(const HoldService&) = delete;
  HoldService& operator=(const HoldService&) = delete;

  // The event's seat inventory, created on first use.
  SeatInventory& InventoryFor(const std::shared_ptr<Event>& event);

  using HoldDone = std::function<void(Result<Hold>)>;
  // Journals a hold the table just granted and calls `done` once it is durable (on the ledger's
  // thread). If the journal refuses it, the seats go back on sale and `done` gets the error.
  void Acknowledge(SeatInventory& inventory, Hold hold, HoldDone done);

  // The hold if `session_id` owns it; 404 hold_not_found otherwise (a stranger learns nothing).
  Result<Hold> Get(std::string_view hold_id, std::string_view session_id);
  // Releases a live hold of `session_id`; `done` runs once the end is durable. 404 as Get.
  void Release(std::string_view hold_id, std::string_view session_id, DurableDone done);

  // Ends a hold in the journal only, without waiting: the order that consumed it failed to
  // confirm and has put its seats back itself, and a restart must not hold them again.
  void EndInJournal(std::string hold_id, std::string reason);

  // Ends every hold past its deadline in every event and journals the ends (without waiting).
  // Returns how many expired.
  std::size_t ExpireDue();

  // Rebuilds the seat tables from the journal (at start, after Catalog::Load and before serving);
  // waits until the ends it writes are durable.
  Status Restore();

  // Calls `visit(event, inventory)` for every inventory created so far.
  void ForEachInventory(const std::function<void(const Event&, SeatInventory&)>& visit) const;

  // The event id a hold id names, or "" when the id is not one this service hands out.
  static std::string EventIdOfHold(std::string_view hold_id);

 private:
  struct Entry {
    std::shared_ptr<Event> event;
    std::unique_ptr<SeatInventory> inventory;
  };
  SeatInventory* FindInventory(std::string_view event_id);
  void JournalEnd(const Hold& hold, std::string reason, DurableDone done);

  Catalog& catalog_;
  HoldJournal& journal_;
  const Clock& clock_;
  const SeatInventoryFactory make_inventory_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> tables_;  // by event id
};

// The journal's form of a hold's seats and back.
std::string HeldSeatsToJson(const SeatMap& map, const std::vector<HeldSeat>& seats);
Result<std::vector<HeldSeat>> HeldSeatsFromJson(const SeatMap& map, std::string_view json);

}  // namespace boxoffice
