#include "inventory/hold_table.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdlib>
#include <tuple>

#include "common/check.hpp"
#include "common/crypto.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

// A hold id carries its event's id and its slot, so GET /v1/holds/{id} finds the event and the
// hold without an index: "hld_" + the 16 characters after "evt_" + the slot in 7 letters (base
// 26) + 9 characters from a per-run seed (so a slot reused by a later run makes a different id):
// the last two are the kHoldIdSuffixChars of hold_table.hpp.
//
// The slot is written in letters so that no hold id holds a run of digits that could pass for a
// card number, which the API refuses in any body (common/card_digits.hpp): written in base 36, a
// low slot was seven digits ("0000003"), and with digits ending the event's id and starting the
// tag about one hold in a few thousand could not be bought. Now the longest run is the tag's nine
// or the event id's own (Catalog mints none that passes). Builds before wrote the slot in base 36,
// always starting with a digit (2^32 is "1z141z4"); SlotOfId still reads those, so holds they
// journaled survive an upgrade.
constexpr std::size_t kSlotChars = 7;  // 26^7 > 2^32
constexpr char kSlotAlphabet[] = "abcdefghijklmnopqrstuvwxyz";
constexpr char kBase36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Not a secret (only the owning session may read or release a hold), so a hash is enough, and it
// keeps random number generation off the hold hot path.
std::string IdSuffix(std::uint64_t seed, std::uint32_t slot) {
  std::string out(kHoldIdSuffixChars, '0');
  std::uint64_t value = slot;
  for (std::size_t i = kSlotChars; i-- > 0;) {
    out[i] = kSlotAlphabet[value % 26];
    value /= 26;
  }
  std::uint64_t tag = SplitMix64(seed ^ slot);
  for (std::size_t i = kSlotChars; i < kHoldIdSuffixChars; ++i) {
    out[i] = kBase36[tag % 36];
    tag /= 36;
  }
  return out;
}

// The slot `chars` spell in the letters of today's ids, or in base 36 when they start with a
// digit as an older build's did; nullopt when they are neither.
std::optional<std::uint64_t> ParseSlot(std::string_view chars) {
  const bool legacy = !chars.empty() && chars.front() >= '0' && chars.front() <= '9';
  const std::string_view alphabet = legacy ? kBase36 : kSlotAlphabet;
  std::uint64_t slot = 0;
  for (const char c : chars) {
    const std::size_t digit = alphabet.find(c);
    if (digit == std::string_view::npos) return std::nullopt;
    slot = slot * alphabet.size() + digit;
  }
  return slot;
}

Error ValidationError(std::string field, std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                     {{"field", field}});
}

}  // namespace

HoldTable::HoldTable(const EventDefinition& event, const SeatMap& map, const Clock& clock)
    : event_(event),
      map_(map),
      seats_(event.seat_count),
      clock_(clock),
      hold_ttl_(event.hold_ttl_s),
      id_seed_(RandomUint64()),
      id_prefix_("hld_" + (event.id.starts_with("evt_") ? event.id.substr(4) : event.id)) {}

std::function<std::unique_ptr<SeatInventory>(const Event&)> HoldTable::Factory(const Clock& clock) {
  return [&clock](const Event& event) {
    return std::make_unique<HoldTable>(event.definition(), event.seat_map(), clock);
  };
}

std::optional<std::uint32_t> HoldTable::SlotOfId(std::string_view hold_id) const {
  if (hold_id.size() != id_prefix_.size() + kHoldIdSuffixChars ||
      !hold_id.starts_with(id_prefix_)) {
    return std::nullopt;
  }
  const std::optional<std::uint64_t> parsed =
      ParseSlot(hold_id.substr(id_prefix_.size(), kSlotChars));
  if (!parsed) return std::nullopt;
  const std::uint64_t slot = *parsed;
  if (slot == 0 || slot > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(slot);
}

std::uint32_t HoldTable::NextSlot() {
  std::uint32_t slot = next_slot_.fetch_add(1, std::memory_order_relaxed) + 1;
  // 0 means "no hold" in a seat word; after 2^32 holds the counter wraps past it.
  while (slot == 0) slot = next_slot_.fetch_add(1, std::memory_order_relaxed) + 1;
  return slot;
}

bool HoldTable::ReserveAllowance(const std::string& owner_key, std::uint32_t quantity) {
  std::lock_guard lock(mutex_);
  std::uint32_t& used = allowance_used_[owner_key];
  if (used + quantity > event_.limits.per_customer) {
    if (used == 0) allowance_used_.erase(owner_key);
    return false;
  }
  used += quantity;
  return true;
}

void HoldTable::ReturnAllowance(const std::string& owner_key, std::uint32_t quantity) {
  std::lock_guard lock(mutex_);
  const auto found = allowance_used_.find(owner_key);
  BOXOFFICE_CHECK(found != allowance_used_.end() && found->second >= quantity,
                  "seats returned to an owner's allowance were taken from it");
  found->second -= quantity;
  if (found->second == 0) allowance_used_.erase(found);
}

std::optional<std::size_t> HoldTable::TakeSeats(const std::vector<SeatRequest>& seats,
                                                std::uint32_t slot, std::vector<HeldSeat>& taken) {
  taken.clear();
  for (std::size_t i = 0; i < seats.size(); ++i) {
    const SeatRequest& request = seats[i];
    SeatState expected{SeatStatus::kAvailable, request.version, 0};
    const std::uint32_t version = (request.version + 1) & SeatState::kVersionMask;
    if (!seats_.CompareExchange(request.index, expected,
                                SeatState{SeatStatus::kHeld, version, slot})) {
      ReturnSeats(taken, slot);
      taken.clear();
      return i;
    }
    taken.push_back(HeldSeat{request.index, version});
  }
  return std::nullopt;
}

void HoldTable::ReturnSeats(const std::vector<HeldSeat>& seats, std::uint32_t slot) {
  for (const HeldSeat& seat : seats) {
    SeatState expected{SeatStatus::kHeld, seat.version, slot};
    const std::uint32_t version = (seat.version + 1) & SeatState::kVersionMask;
    // Only the hold that owns a seat changes it while held, so this swap cannot fail; if it
    // does, two holds share a seat and continuing would sell it twice.
    if (!seats_.CompareExchange(seat.index, expected,
                                SeatState{SeatStatus::kAvailable, version, 0})) {
      BOXOFFICE_CHECK(false, "a held seat changed under its hold");
    }
  }
}

Hold HoldTable::Register(const HoldOwner& owner, std::uint32_t slot, std::vector<HeldSeat> taken) {
  Hold hold;
  hold.id = id_prefix_ + IdSuffix(id_seed_, slot);
  hold.event_id = event_.id;
  hold.session_id = owner.session_id;
  hold.customer_id = owner.customer_id;
  hold.seats = std::move(taken);
  for (const HeldSeat& seat : hold.seats) hold.total_cents += map_.TierOf(seat.index).price_cents;
  hold.created_at = clock_.Now();
  hold.expires_at = hold.created_at + hold_ttl_;
  hold.slot = slot;
  {
    std::lock_guard lock(mutex_);
    deadlines_.emplace(hold.expires_at, slot);
    live_.emplace(slot, hold);
  }
  created_.fetch_add(1, std::memory_order_relaxed);
  return hold;
}

Error HoldTable::LimitError(std::string_view which, std::uint32_t limit) {
  limit_exceeded_.fetch_add(1, std::memory_order_relaxed);
  return Error::Make(ErrorKind::kUnprocessable, "limit_exceeded",
                     "This would hold more seats than the event's " + std::string(which) +
                         " limit of " + std::to_string(limit) + ".",
                     {{"limit", which}, {"max", limit}});
}

Error HoldTable::ConflictError(const std::vector<SeatRequest>& seats, std::size_t failed_at) const {
  json::array conflicts;
  conflicts.push_back(json::value(map_.SeatId(seats[failed_at].index)));
  // Report every other seat that would fail too, so the fan does not learn them one at a time.
  for (std::size_t i = failed_at + 1; i < seats.size(); ++i) {
    const SeatState state = seats_.Load(seats[i].index);
    if (state.status != SeatStatus::kAvailable || state.version != seats[i].version) {
      conflicts.push_back(json::value(map_.SeatId(seats[i].index)));
    }
  }
  json::array alternatives;
  if (auto nearest = FindNearest(static_cast<std::uint32_t>(seats.size()), seats[0].index)) {
    for (const std::uint32_t index : *nearest) {
      alternatives.push_back(
          json::object{{"id", map_.SeatId(index)}, {"version", seats_.Load(index).version}});
    }
  }
  return Error::Make(
      ErrorKind::kConflict, "seat_conflict",
      "A seat is no longer available at the version you saw; nothing was held.",
      {{"conflicts", std::move(conflicts)}, {"alternatives", std::move(alternatives)}});
}

Status HoldTable::CheckOnSale() const {
  if (event_.onsale_at && clock_.Now() < *event_.onsale_at) {
    return Error::Make(ErrorKind::kForbidden, "not_on_sale", "The event is not on sale yet.",
                       {{"onsale_at", FormatRfc3339(*event_.onsale_at)}});
  }
  return {};
}

Result<Hold> HoldTable::HoldSeats(const HoldOwner& owner, std::vector<SeatRequest> seats) {
  if (Status on_sale = CheckOnSale(); !on_sale) return std::move(on_sale).error();
  if (seats.empty()) return ValidationError("seats", "Name at least one seat to hold.");
  if (seats.size() > event_.limits.per_order) {
    return LimitError("per_order", event_.limits.per_order);
  }
  // Id order: two fans asking for overlapping seats take them in the same order, so neither can
  // hold one seat the other needs while waiting for the other's (no livelock of partial holds).
  std::sort(seats.begin(), seats.end(),
            [](const SeatRequest& a, const SeatRequest& b) { return a.index < b.index; });
  for (std::size_t i = 1; i < seats.size(); ++i) {
    if (seats[i].index == seats[i - 1].index) {
      return ValidationError("seats", "Seat " + map_.SeatId(seats[i].index) + " is named twice.");
    }
  }
  const std::uint32_t quantity = static_cast<std::uint32_t>(seats.size());
  if (!ReserveAllowance(owner.Key(), quantity)) {
    return LimitError("per_customer", event_.limits.per_customer);
  }
  const std::uint32_t slot = NextSlot();
  std::vector<HeldSeat> taken;
  taken.reserve(seats.size());
  if (std::optional<std::size_t> failed = TakeSeats(seats, slot, taken)) {
    ReturnAllowance(owner.Key(), quantity);
    conflicts_.fetch_add(1, std::memory_order_relaxed);
    return ConflictError(seats, *failed);
  }
  return Register(owner, slot, std::move(taken));
}

Result<Hold> HoldTable::HoldBestAvailable(const HoldOwner& owner,
                                          const BestAvailableRequest& request) {
  if (Status on_sale = CheckOnSale(); !on_sale) return std::move(on_sale).error();
  if (request.quantity == 0) {
    return ValidationError("best_available.quantity", "Quantity must be at least 1.");
  }
  if (request.quantity > event_.limits.per_order) {
    return LimitError("per_order", event_.limits.per_order);
  }
  std::uint32_t first = 0;
  std::uint32_t end = map_.size();
  if (request.section) {
    const auto range = map_.SectionRange(*request.section);
    if (!range) {
      return ValidationError("best_available.section", "The event has no such section.");
    }
    std::tie(first, end) = *range;
  }
  if (!ReserveAllowance(owner.Key(), request.quantity)) {
    return LimitError("per_customer", event_.limits.per_customer);
  }
  const std::uint32_t slot = NextSlot();
  std::vector<SeatRequest> wanted;
  std::vector<HeldSeat> taken;
  for (int attempt = 0; attempt < kBestAvailableAttemptsMax; ++attempt) {
    std::optional<std::vector<std::uint32_t>> best = FindBestAvailable(request, first, end);
    if (!best) break;
    wanted.clear();
    for (const std::uint32_t index : *best) {
      wanted.push_back(SeatRequest{index, seats_.Load(index).version});
    }
    if (!TakeSeats(wanted, slot, taken)) return Register(owner, slot, std::move(taken));
  }
  ReturnAllowance(owner.Key(), request.quantity);
  not_enough_seats_.fetch_add(1, std::memory_order_relaxed);
  return Error::Make(ErrorKind::kConflict, "not_enough_seats",
                     "No " + std::to_string(request.quantity) +
                         " adjacent seats in one row are available" +
                         (request.accessible ? " among the accessible seats." : "."),
                     {{"quantity", request.quantity}});
}

template <typename Visit>
void HoldTable::ForEachRow(std::uint32_t first, std::uint32_t end, Visit&& visit) const {
  std::uint32_t row_first = first;
  while (row_first < end) {
    const std::uint32_t row_end =
        std::min(end, row_first - (map_.Seat(row_first).number - 1) + map_.RowOf(row_first).seats);
    visit(row_first, row_end);
    row_first = row_end;
  }
}

std::optional<std::vector<std::uint32_t>> HoldTable::FindBestAvailable(
    const BestAvailableRequest& request, std::uint32_t first, std::uint32_t end) const {
  using Score = std::array<std::int64_t, 6>;  // lower is better, compared in order
  std::optional<Score> best_score;
  std::uint32_t best_first = 0;
  std::vector<char> available;
  ForEachRow(first, end, [&](std::uint32_t row_first, std::uint32_t row_end) {
    const std::uint32_t length = row_end - row_first;
    if (length < request.quantity) return;
    const SeatInfo& row_seat = map_.Seat(row_first);
    const std::int64_t price = map_.TierOf(row_first).price_cents;
    // Rows of a worse tier or further back cannot beat the best found so far: skip the scan.
    if (best_score && Score{-price, row_seat.row, 0, 0, 0, 0} > *best_score) return;
    available.assign(length, 0);
    for (std::uint32_t i = 0; i < length; ++i) {
      available[i] = seats_.Load(row_first + i).status == SeatStatus::kAvailable;
    }
    std::uint32_t run = 0;  // fitting seats ending at i
    for (std::uint32_t i = 0; i < length; ++i) {
      const bool fits =
          available[i] && (!request.accessible || map_.Seat(row_first + i).accessible);
      run = fits ? run + 1 : 0;
      if (run < request.quantity) continue;
      const std::uint32_t start = i + 1 - request.quantity;
      const std::uint32_t after = i + 1;
      // A lone available seat left beside the block is hard to sell: prefer blocks that leave
      // none when the row offers one.
      const bool gap_left =
          start >= 1 && available[start - 1] && (start == 1 || !available[start - 2]);
      const bool gap_right =
          after < length && available[after] && (after + 1 == length || !available[after + 1]);
      // Twice the distance of the block's centre from the row's centre, in seats.
      const std::int64_t off_centre =
          std::abs(std::int64_t{2} * start + request.quantity - 1 - (std::int64_t{length} - 1));
      const Score score{-price,     row_seat.row,     (gap_left || gap_right) ? 1 : 0,
                        off_centre, row_seat.section, start};
      if (!best_score || score < *best_score) {
        best_score = score;
        best_first = row_first + start;
      }
    }
  });
  if (!best_score) return std::nullopt;
  std::vector<std::uint32_t> block(request.quantity);
  for (std::uint32_t i = 0; i < request.quantity; ++i) block[i] = best_first + i;
  return block;
}

std::optional<std::vector<std::uint32_t>> HoldTable::FindNearest(std::uint32_t quantity,
                                                                 std::uint32_t near) const {
  // Lower is better, compared in order: another section, how many sections away, how many rows
  // away, how many seats away. The search walks outwards from the asked seat in that order and
  // stops once nothing unseen can score better, so a conflict in a 100,000-seat event reads a few
  // rows, not the whole event. Ties go to the lower seat index, as a plain scan would give them.
  using Score = std::array<std::int64_t, 4>;
  const SeatInfo& target = map_.Seat(near);
  std::optional<Score> best_score;
  std::uint32_t best_first = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> rows;

  auto scan_section = [&](std::int64_t section) {
    const auto range = map_.SectionRange(event_.sections[static_cast<std::size_t>(section)].id);
    if (!range) return;
    rows.clear();
    ForEachRow(range->first, range->second, [&](std::uint32_t row_first, std::uint32_t row_end) {
      rows.emplace_back(row_first, row_end);
    });
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
      return std::abs(std::int64_t{map_.Seat(a.first).row} - target.row) <
             std::abs(std::int64_t{map_.Seat(b.first).row} - target.row);
    });
    const std::int64_t section_distance = std::abs(section - std::int64_t{target.section});
    for (const auto& [row_first, row_end] : rows) {
      const std::int64_t row_distance =
          std::abs(std::int64_t{map_.Seat(row_first).row} - std::int64_t{target.row});
      const Score row_floor{section_distance == 0 ? 0 : 1, section_distance, row_distance, 0};
      if (best_score && row_floor > *best_score) break;  // rows further out only get worse
      std::uint32_t run = 0;
      for (std::uint32_t index = row_first; index < row_end; ++index) {
        run = seats_.Load(index).status == SeatStatus::kAvailable ? run + 1 : 0;
        if (run < quantity) continue;
        const std::uint32_t start = index + 1 - quantity;
        // The offered block's first seat against the asked block's first seat: blocks of the same
        // size, so this is also the distance between their centres.
        const Score score{row_floor[0], row_floor[1], row_floor[2],
                          std::abs(std::int64_t{map_.Seat(start).number} - target.number)};
        if (!best_score || score < *best_score || (score == *best_score && start < best_first)) {
          best_score = score;
          best_first = start;
        }
      }
    }
  };

  const std::int64_t sections = static_cast<std::int64_t>(event_.sections.size());
  for (std::int64_t distance = 0; distance < sections && !best_score; ++distance) {
    // Sections further away score worse than any block found at this distance.
    if (target.section - distance >= 0) scan_section(target.section - distance);
    if (distance > 0 && target.section + distance < sections) {
      scan_section(target.section + distance);
    }
  }
  if (!best_score) return std::nullopt;
  std::vector<std::uint32_t> block(quantity);
  for (std::uint32_t i = 0; i < quantity; ++i) block[i] = best_first + i;
  return block;
}

Hold HoldTable::EndLocked(std::uint32_t slot, HoldStatus status) {
  auto found = live_.find(slot);
  BOXOFFICE_CHECK(found != live_.end(), "the hold being ended is live");
  Hold hold = std::move(found->second);
  live_.erase(found);
  deadlines_.erase({hold.expires_at, slot});
  ReturnSeats(hold.seats, slot);
  const std::string& key = hold.customer_id.empty() ? hold.session_id : hold.customer_id;
  if (auto owner = allowance_used_.find(key); owner != allowance_used_.end()) {
    owner->second -= std::min<std::uint32_t>(owner->second, hold.seats.size());
    if (owner->second == 0) allowance_used_.erase(owner);
  }
  hold.status = status;
  (status == HoldStatus::kExpired ? expired_ : released_).fetch_add(1, std::memory_order_relaxed);
  ended_order_.push_back(slot);
  ended_.insert_or_assign(slot, hold);
  if (ended_order_.size() > kEndedHoldsKeptMax) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  return hold;
}

std::optional<Hold> HoldTable::Find(std::string_view hold_id) {
  const std::optional<std::uint32_t> slot = SlotOfId(hold_id);
  if (!slot) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (const auto live = live_.find(*slot); live != live_.end() && live->second.id == hold_id) {
    if (live->second.expires_at <= clock_.Now()) return EndLocked(*slot, HoldStatus::kExpired);
    // Read back what TakeSeats wrote: while a hold is live only it changes its seats.
    for (const HeldSeat& seat : live->second.seats) {
      BOXOFFICE_CHECK(
          seats_.Load(seat.index) == (SeatState{SeatStatus::kHeld, seat.version, *slot}),
          "a live hold's seats are held by it, at the versions it took them");
    }
    return live->second;
  }
  if (const auto ended = ended_.find(*slot); ended != ended_.end() && ended->second.id == hold_id) {
    return ended->second;
  }
  return std::nullopt;
}

Result<Hold> HoldTable::Release(std::string_view hold_id) {
  const std::optional<std::uint32_t> slot = SlotOfId(hold_id);
  std::lock_guard lock(mutex_);
  const auto live = slot ? live_.find(*slot) : live_.end();
  if (live == live_.end() || live->second.id != hold_id) {
    return Error::Make(ErrorKind::kNotFound, "hold_not_found", "No live hold has this id.",
                       {{"hold_id", hold_id}});
  }
  // A hold past its deadline has expired even if the sweep has not reached it yet.
  const HoldStatus status =
      live->second.expires_at <= clock_.Now() ? HoldStatus::kExpired : HoldStatus::kReleased;
  return EndLocked(*slot, status);
}

std::vector<Hold> HoldTable::ExpireDue() {
  std::vector<Hold> expired;
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mutex_);
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    expired.push_back(EndLocked(deadlines_.begin()->second, HoldStatus::kExpired));
  }
  return expired;
}

Status HoldTable::Restore(const Hold& hold) {
  auto refuse = [&hold](std::string message) -> Status {
    return Error::Make(ErrorKind::kConflict, "seat_conflict", std::move(message),
                       {{"hold_id", hold.id}});
  };
  // The hold keeps its id, so it keeps the slot the id names; new holds number from above it.
  const std::optional<std::uint32_t> id_slot = SlotOfId(hold.id);
  if (!id_slot) return refuse("A journaled hold's id is not one of this event's.");
  const std::uint32_t slot = *id_slot;
  {
    std::lock_guard lock(mutex_);
    if (live_.contains(slot)) return refuse("Two journaled holds name the same slot.");
  }
  std::uint32_t next = next_slot_.load(std::memory_order_relaxed);
  while (next < slot && !next_slot_.compare_exchange_weak(next, slot)) {
  }
  std::vector<HeldSeat> taken;
  for (const HeldSeat& seat : hold.seats) {
    if (seat.index >= seats_.size()) break;
    SeatState expected = seats_.Load(seat.index);
    if (expected.status != SeatStatus::kAvailable ||
        !seats_.CompareExchange(seat.index, expected,
                                SeatState{SeatStatus::kHeld, seat.version, slot})) {
      break;
    }
    taken.push_back(seat);
  }
  if (taken.size() != hold.seats.size()) {
    ReturnSeats(taken, slot);
    return refuse("A journaled hold names a seat that is not available.");
  }
  Hold restored = hold;
  restored.slot = slot;
  restored.status = HoldStatus::kHeld;
  std::lock_guard lock(mutex_);
  allowance_used_[restored.customer_id.empty() ? restored.session_id : restored.customer_id] +=
      static_cast<std::uint32_t>(restored.seats.size());
  deadlines_.emplace(restored.expires_at, slot);
  live_.emplace(slot, std::move(restored));
  return {};
}

Result<Hold> HoldTable::Sell(std::string_view hold_id, std::string_view session_id) {
  auto expired = [&hold_id] {
    return Error::Make(ErrorKind::kConflict, "hold_expired",
                       "The hold has expired or is not yours; hold the seats again.",
                       {{"hold_id", hold_id}});
  };
  const std::optional<std::uint32_t> slot = SlotOfId(hold_id);
  std::lock_guard lock(mutex_);
  const auto live = slot ? live_.find(*slot) : live_.end();
  if (live == live_.end() || live->second.id != hold_id || live->second.session_id != session_id) {
    return expired();
  }
  if (live->second.expires_at <= clock_.Now()) {
    EndLocked(*slot, HoldStatus::kExpired);
    return expired();
  }
  Hold hold = std::move(live->second);
  live_.erase(live);
  deadlines_.erase({hold.expires_at, *slot});
  for (HeldSeat& seat : hold.seats) {
    SeatState expected{SeatStatus::kHeld, seat.version, *slot};
    const std::uint32_t version = (seat.version + 1) & SeatState::kVersionMask;
    // As in ReturnSeats: only the owning hold changes a held seat.
    if (!seats_.CompareExchange(seat.index, expected,
                                SeatState{SeatStatus::kSold, version, *slot})) {
      BOXOFFICE_CHECK(false, "a held seat changed under its hold");
    }
    seat.version = version;
  }
  // The allowance stays taken: bought seats count against per_customer like held ones.
  hold.status = HoldStatus::kOrdered;
  ordered_.fetch_add(1, std::memory_order_relaxed);
  ended_order_.push_back(*slot);
  ended_.insert_or_assign(*slot, hold);
  if (ended_order_.size() > kEndedHoldsKeptMax) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  return hold;
}

std::size_t HoldTable::Unsell(const std::vector<std::uint32_t>& seats,
                              const std::string& owner_key) {
  std::size_t moved = 0;
  for (const std::uint32_t index : seats) {
    if (index >= seats_.size()) continue;
    SeatState expected = seats_.Load(index);
    while (expected.status == SeatStatus::kSold) {
      const std::uint32_t version = (expected.version + 1) & SeatState::kVersionMask;
      if (seats_.CompareExchange(index, expected, SeatState{SeatStatus::kAvailable, version, 0})) {
        ++moved;
        break;
      }
    }
  }
  if (moved > 0) {
    std::lock_guard lock(mutex_);
    if (auto owner = allowance_used_.find(owner_key); owner != allowance_used_.end()) {
      owner->second -= std::min<std::uint32_t>(owner->second, static_cast<std::uint32_t>(moved));
      if (owner->second == 0) allowance_used_.erase(owner);
    }
  }
  return moved;
}

Status HoldTable::RestoreSold(const std::vector<std::uint32_t>& seats,
                              const std::string& owner_key) {
  std::vector<std::uint32_t> taken;
  for (const std::uint32_t index : seats) {
    SeatState expected = index < seats_.size() ? seats_.Load(index) : SeatState{};
    if (index >= seats_.size() || expected.status != SeatStatus::kAvailable ||
        !seats_.CompareExchange(
            index, expected,
            SeatState{SeatStatus::kSold, (expected.version + 1) & SeatState::kVersionMask, 0})) {
      // Undo what this call took; the seats were available before it.
      for (const std::uint32_t undo : taken) {
        SeatState sold = seats_.Load(undo);
        static_cast<void>(seats_.CompareExchange(
            undo, sold,
            SeatState{SeatStatus::kAvailable, (sold.version + 1) & SeatState::kVersionMask, 0}));
      }
      return Error::Make(ErrorKind::kConflict, "seat_conflict",
                         "A sold seat of the ledger is not available in memory.");
    }
    taken.push_back(index);
  }
  std::lock_guard lock(mutex_);
  allowance_used_[owner_key] += static_cast<std::uint32_t>(seats.size());
  return {};
}

std::size_t HoldTable::live_holds() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

HoldCounters HoldTable::counters() const {
  return HoldCounters{created_.load(std::memory_order_relaxed),
                      conflicts_.load(std::memory_order_relaxed),
                      not_enough_seats_.load(std::memory_order_relaxed),
                      limit_exceeded_.load(std::memory_order_relaxed),
                      released_.load(std::memory_order_relaxed),
                      expired_.load(std::memory_order_relaxed),
                      ordered_.load(std::memory_order_relaxed)};
}

}  // namespace boxoffice
