// An event as the operator defines it: name, times, price tiers, the seat map (sections of rows
// of numbered seats), purchase limits, hold and queue settings. `ParseEventDefinition` is the one
// validator of that definition: it turns untrusted JSON into an `EventDefinition` or a 422 with
// the path of every offending field, so nothing downstream needs to re-check it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

// Bounds of an event definition, named so that API docs and errors quote the same numbers.
inline constexpr std::uint32_t kEventSeatsMax = 200'000;
inline constexpr std::uint32_t kRowSeatsMax = 2'000;
inline constexpr std::size_t kEventNameMaxChars = 200;
inline constexpr std::size_t kVenueMaxChars = 200;
inline constexpr std::size_t kIdMaxChars = 16;  // section ids, row labels, tier ids
inline constexpr std::size_t kPriceTiersMax = 64;
inline constexpr std::size_t kSectionsMax = 2'000;
inline constexpr std::size_t kRowsPerSectionMax = 500;
inline constexpr std::uint32_t kPerOrderMax = 8;
inline constexpr std::uint32_t kPerCustomerMax = 100;
inline constexpr std::int64_t kPriceCentsMax = 100'000'000;  // one million in major units
inline constexpr std::uint32_t kHoldTtlMinS = 30;
inline constexpr std::uint32_t kHoldTtlMaxS = 3'600;
inline constexpr std::uint32_t kAdmissionRateMaxPerS = 1'000'000;
inline constexpr std::uint32_t kMaxActiveMax = 10'000'000;
inline constexpr std::size_t kQueueMessageMaxChars = 280;  // the operator's message to the line
inline constexpr std::uint32_t kIdleReleaseMinS = 10;
inline constexpr std::uint32_t kIdleReleaseMaxS = 86'400;
inline constexpr std::uint32_t kPollBudgetMinPerS = 10;
inline constexpr std::uint32_t kPollBudgetMaxPerS = 100'000'000;
inline constexpr std::uint32_t kAccessTtlMinS = 60;
inline constexpr std::uint32_t kAccessTtlMaxS = 7'200;

struct PriceTier {
  std::string id;
  std::string name;
  std::int64_t price_cents = 0;
};

struct RowDefinition {
  std::string label;
  std::uint32_t seats = 0;
  std::vector<std::uint32_t> accessible;  // seat numbers, sorted, unique
};

struct SectionDefinition {
  std::string id;
  std::string name;
  std::string tier;  // a PriceTier id
  std::vector<RowDefinition> rows;
};

struct EventLimits {
  std::uint32_t per_order = kPerOrderMax;
  std::uint32_t per_customer = kPerOrderMax;
};

enum class QueuePolicy { kFifo, kShufflePrequeue };
enum class ChallengeMode { kRisk, kAlways, kOff };

struct QueueSettings {
  bool enabled = false;
  QueuePolicy policy = QueuePolicy::kFifo;
  std::uint32_t admission_rate_per_s = 100;
  std::uint32_t max_active = 5'000;
  std::uint32_t access_ttl_s = 600;
  bool paused = false;
  // Closed-loop admission: an admitted fan who makes no inventory or checkout call for this long
  // gives their active slot back.
  std::uint32_t idle_release_s = 120;
  // The status polls per second the whole queue may cost; retry_after_s grows with the distance
  // from the front to stay within it (docs/api.md, "The poll budget").
  std::uint32_t poll_budget_per_s = 20'000;
  // A confirmed order spends the fan's access (and frees the slot); false lets them buy again.
  bool order_ends_access = true;
  // The operator's word to fans in line ("Doors reopen at 10:15"), set live by PATCH, shown in
  // every waiting fan's status and stream; empty: none.
  std::string message;
  // Closed by the operator (PATCH): no new fan may join; those in line keep their places and are
  // admitted as before. Set live only, never by the definition.
  bool closed = false;
};

struct EventDefinition {
  std::string id;  // assigned by the server
  std::string name;
  // Where the event takes place, as the operator writes it ("Olympia, Paris"); absent: not said.
  std::optional<std::string> venue;
  std::optional<TimePoint> starts_at;
  std::optional<TimePoint> onsale_at;  // absent: on sale now
  std::string currency = "USD";
  std::vector<PriceTier> price_tiers;
  std::vector<SectionDefinition> sections;
  EventLimits limits;
  std::uint32_t hold_ttl_s = 600;
  QueueSettings queue;
  ChallengeMode challenge = ChallengeMode::kRisk;
  TimePoint created_at;
  std::uint32_t seat_count = 0;  // derived from the sections
};

// Validates an operator's definition. Errors: 400 `malformed_json` is the caller's business;
// this returns 422 `validation_failed` with details {"field": first path, "errors": [{"field",
// "message"}...]}. Fields the server assigns (id, created_at, seat_count) are ignored.
Result<EventDefinition> ParseEventDefinition(const boost::json::value& body);

// The event as the API shows it (and as the ledger stores it).
boost::json::object EventToJson(const EventDefinition& event);
// Reads back what EventToJson wrote, through the same validator plus the server's fields.
Result<EventDefinition> EventFromStoredJson(const boost::json::value& stored);

std::string_view QueuePolicyName(QueuePolicy policy);
std::string_view ChallengeModeName(ChallengeMode mode);

}  // namespace boxoffice
