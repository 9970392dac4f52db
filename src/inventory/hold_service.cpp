#include "inventory/hold_service.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <future>
#include <map>
#include <mutex>

#include "common/check.hpp"
#include "common/failpoint.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "inventory/hold_table.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

constexpr std::string_view kHoldPrefix = "hld_";
constexpr std::string_view kEventPrefix = "evt_";

Error HoldNotFound(std::string_view hold_id) {
  return Error::Make(ErrorKind::kNotFound, "hold_not_found", "No hold of yours has this id.",
                     {{"hold_id", hold_id}});
}

HoldRecord ToRecord(const SeatMap& map, const Hold& hold) {
  return HoldRecord{hold.id,
                    hold.event_id,
                    hold.session_id,
                    hold.customer_id,
                    HeldSeatsToJson(map, hold.seats),
                    hold.total_cents,
                    ToUnixMillis(hold.created_at),
                    ToUnixMillis(hold.expires_at)};
}

}  // namespace

std::string HeldSeatsToJson(const SeatMap& map, const std::vector<HeldSeat>& seats) {
  json::array out;
  out.reserve(seats.size());
  for (const HeldSeat& seat : seats) {
    out.push_back(json::object{{"id", map.SeatId(seat.index)}, {"version", seat.version}});
  }
  return SerializeJson(out);
}

Result<std::vector<HeldSeat>> HeldSeatsFromJson(const SeatMap& map, std::string_view text) {
  std::error_code error;
  const json::value parsed = json::parse(text, error);
  if (error || !parsed.is_array()) return Error::Internal("journaled seats are not a JSON array");
  std::vector<HeldSeat> seats;
  for (const json::value& item : parsed.get_array()) {
    const json::object* seat = item.if_object();
    const json::value* id = seat ? seat->if_contains("id") : nullptr;
    const json::value* version = seat ? seat->if_contains("version") : nullptr;
    if (id == nullptr || !id->is_string() || version == nullptr || !version->is_int64()) {
      return Error::Internal("a journaled seat lacks its id or version");
    }
    const std::optional<std::uint32_t> index = map.Find(id->get_string());
    if (!index) return Error::Internal("a journaled seat is not in the event's seat map");
    seats.push_back(HeldSeat{*index, static_cast<std::uint32_t>(version->get_int64())});
  }
  std::sort(seats.begin(), seats.end(),
            [](const HeldSeat& a, const HeldSeat& b) { return a.index < b.index; });
  return seats;
}

std::string HoldService::EventIdOfHold(std::string_view hold_id) {
  if (!hold_id.starts_with(kHoldPrefix) ||
      hold_id.size() <= kHoldPrefix.size() + kHoldIdSuffixChars) {
    return "";
  }
  return std::string(kEventPrefix) +
         std::string(hold_id.substr(kHoldPrefix.size(),
                                    hold_id.size() - kHoldPrefix.size() - kHoldIdSuffixChars));
}

HoldService::HoldService(Catalog& catalog, HoldJournal& journal, const Clock& clock,
                         SeatInventoryFactory make_inventory)
    : catalog_(catalog),
      journal_(journal),
      clock_(clock),
      make_inventory_(std::move(make_inventory)) {}

HoldService::HoldService(Catalog& catalog, HoldJournal& journal, const Clock& clock)
    : HoldService(catalog, journal, clock, HoldTable::Factory(clock)) {}

SeatInventory& HoldService::InventoryFor(const std::shared_ptr<Event>& event) {
  const std::string& id = event->definition().id;
  {
    std::shared_lock lock(mutex_);
    if (const auto found = tables_.find(id); found != tables_.end()) {
      return *found->second.inventory;
    }
  }
  std::unique_lock lock(mutex_);
  auto [entry, inserted] = tables_.try_emplace(id);
  if (inserted) {
    entry->second.event = event;
    entry->second.inventory = make_inventory_(*event);
  }
  return *entry->second.inventory;
}

SeatInventory* HoldService::FindInventory(std::string_view event_id) {
  if (event_id.empty()) return nullptr;
  std::shared_ptr<Event> event = catalog_.Find(event_id);
  return event ? &InventoryFor(event) : nullptr;
}

void HoldService::Acknowledge(SeatInventory& inventory, Hold hold, HoldDone done) {
  // Events are never removed, so the event of a hold just granted is in the catalog.
  const std::shared_ptr<Event> event = catalog_.Find(hold.event_id);
  BOXOFFICE_CHECK(event != nullptr, "a hold's event is in the catalog");
  HoldRecord record = ToRecord(event->seat_map(), hold);
  journal_.InsertHold(std::move(record), [&inventory, hold = std::move(hold),
                                          done = std::move(done)](Status status) mutable {
    if (!status.ok()) {
      // Not journaled, so never acknowledged: give the seats back rather than keep a hold that
      // a restart would forget.
      static_cast<void>(inventory.Release(hold.id));
      return done(std::move(status).error());
    }
    BOXOFFICE_FAILPOINT("hold.journaled");
    done(std::move(hold));
  });
}

Result<Hold> HoldService::Get(std::string_view hold_id, std::string_view session_id) {
  SeatInventory* table = FindInventory(EventIdOfHold(hold_id));
  if (table == nullptr) return HoldNotFound(hold_id);
  std::optional<Hold> hold = table->Find(hold_id);
  if (!hold || hold->session_id != session_id) return HoldNotFound(hold_id);
  return std::move(*hold);
}

void HoldService::Release(std::string_view hold_id, std::string_view session_id, DurableDone done) {
  SeatInventory* table = FindInventory(EventIdOfHold(hold_id));
  std::optional<Hold> hold = table ? table->Find(hold_id) : std::nullopt;
  if (!hold || hold->session_id != session_id || hold->status != HoldStatus::kHeld) {
    return done(HoldNotFound(hold_id));
  }
  Result<Hold> released = table->Release(hold_id);
  if (!released) return done(std::move(released).error());
  JournalEnd(*released, std::string(HoldStatusName(released->status)), std::move(done));
}

void HoldService::JournalEnd(const Hold& hold, std::string reason, DurableDone done) {
  journal_.EndHold(hold.id, std::move(reason), ToUnixMillis(clock_.Now()), std::move(done));
}

std::size_t HoldService::ExpireDue() {
  std::vector<SeatInventory*> tables;
  {
    std::shared_lock lock(mutex_);
    tables.reserve(tables_.size());
    for (const auto& [id, entry] : tables_) tables.push_back(entry.inventory.get());
  }
  std::size_t expired = 0;
  for (SeatInventory* table : tables) {
    for (const Hold& hold : table->ExpireDue()) {
      ++expired;
      // Restore would end it anyway (its deadline has passed); journaling keeps the live index
      // small. A failure is only logged for the same reason.
      JournalEnd(hold, "expired", [id = hold.id](Status status) {
        if (!status.ok()) {
          LogWarn("journaling a hold's expiry failed",
                  {{"hold_id", id}, {"error", status.error().message}});
        }
      });
    }
  }
  return expired;
}

Status HoldService::Restore() {
  Result<std::vector<HoldRecord>> records = journal_.LoadLiveHolds();
  if (!records) return records.error();
  const TimePoint now = clock_.Now();
  std::size_t restored = 0;
  std::size_t ended = 0;
  auto end = [&](const std::string& id, std::string reason) {
    ++ended;
    journal_.EndHold(id, std::move(reason), ToUnixMillis(now), [id](Status status) {
      if (!status.ok()) {
        LogWarn("ending a journaled hold at start failed",
                {{"hold_id", id}, {"error", status.error().message}});
      }
    });
  };
  std::map<SeatInventory*, std::uint32_t> held_per_event;
  // Newest first: see the header on why the later of two holds naming one seat wins.
  for (auto record = records->rbegin(); record != records->rend(); ++record) {
    std::shared_ptr<Event> event = catalog_.Find(record->event_id);
    if (!event) {
      end(record->id, "event_missing");
      continue;
    }
    const TimePoint expires_at = FromUnixMillis(record->expires_at_ms);
    if (expires_at <= now) {
      end(record->id, "expired");
      continue;
    }
    Result<std::vector<HeldSeat>> seats = HeldSeatsFromJson(event->seat_map(), record->seats_json);
    if (!seats)
      return Error::Internal("journaled hold " + record->id + ": " + seats.error().message);
    Hold hold;
    hold.id = record->id;
    hold.event_id = record->event_id;
    hold.session_id = record->session_id;
    hold.customer_id = record->customer_id;
    hold.seats = std::move(seats).value();
    hold.total_cents = record->total_cents;
    hold.created_at = FromUnixMillis(record->created_at_ms);
    hold.expires_at = expires_at;
    const std::uint32_t seat_count = static_cast<std::uint32_t>(hold.seats.size());
    SeatInventory& inventory = InventoryFor(event);
    if (Status put = inventory.Restore(hold); !put) {
      end(record->id, "superseded");
      continue;
    }
    held_per_event[&inventory] += seat_count;
    ++restored;
  }
  // Read back: memory now holds exactly the seats of the holds restored from the journal.
  for (const auto& [inventory, held] : held_per_event) {
    BOXOFFICE_CHECK(inventory->Counts().held == held,
                    "the seats restored as held are those of the journal's live holds");
  }
  journal_.Flush();
  LogInfo("holds restored",
          {{"restored", std::to_string(restored)}, {"ended", std::to_string(ended)}});
  return {};
}

void HoldService::EndInJournal(std::string hold_id, std::string reason) {
  journal_.EndHold(hold_id, std::move(reason), ToUnixMillis(clock_.Now()),
                   [hold_id](Status status) {
                     if (!status.ok()) {
                       LogWarn("ending a hold in the journal failed",
                               {{"hold_id", hold_id}, {"error", status.error().message}});
                     }
                   });
}

void HoldService::ForEachInventory(
    const std::function<void(const Event&, SeatInventory&)>& visit) const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, entry] : tables_) visit(*entry.event, *entry.inventory);
}

}  // namespace boxoffice
