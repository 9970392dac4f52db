#include "catalog/event.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_set>

#include "common/json_text.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

// Stops collecting after this many problems: enough to fix a definition, bounded for a hostile
// 200,000-seat body.
constexpr std::size_t kValidationErrorsMax = 50;

// Collects every problem with its field path, e.g. "sections[2].rows[0].seats".
class Problems {
 public:
  void Add(std::string field, std::string message) {
    if (errors_.size() >= kValidationErrorsMax) return;
    json::object error;
    error["field"] = std::move(field);
    error["message"] = std::move(message);
    errors_.push_back(std::move(error));
  }
  bool empty() const { return errors_.empty(); }

  Error ToError() && {
    std::string message = "The event definition is invalid: " +
                          std::string(errors_.front().as_object().at("field").as_string()) + " " +
                          std::string(errors_.front().as_object().at("message").as_string()) + ".";
    json::object details;
    details["field"] = errors_.front().as_object().at("field");
    details["errors"] = std::move(errors_);
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                       std::move(details));
  }

 private:
  json::array errors_;
};

std::string Path(std::string_view parent, std::string_view field) {
  return parent.empty() ? std::string(field) : std::string(parent) + "." + std::string(field);
}

std::string Index(std::string_view parent, std::size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}

bool IsIdentifier(std::string_view text) {
  return !text.empty() && text.size() <= kIdMaxChars &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
         });
}

// Typed readers: absent fields return nullopt silently; present fields of the wrong type or
// range are recorded as problems and also return nullopt.
std::optional<std::string> ReadString(const json::object& object, std::string_view key,
                                      const std::string& path, Problems& problems, bool required,
                                      std::size_t max_chars) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) problems.Add(path, "is required");
    return std::nullopt;
  }
  if (!value->is_string()) {
    problems.Add(path, "must be a string");
    return std::nullopt;
  }
  const json::string& text = value->get_string();
  if (required && text.empty()) {
    problems.Add(path, "must not be empty");
    return std::nullopt;
  }
  if (text.size() > max_chars) {
    problems.Add(path, "must be at most " + std::to_string(max_chars) + " characters");
    return std::nullopt;
  }
  return std::string(text);
}

// A whole number within int64's range. Casting any other double to an integer is undefined
// behaviour, and the cast was the test: "price_cents": 1e300, or the inf that Boost.JSON reads
// "2E5000" as (found by fuzz/json_documents_fuzzer.cpp).
bool IsWholeInt64(double value) {
  constexpr double kBound = 9223372036854775808.0;  // 2^63, exactly
  return value >= -kBound && value < kBound && value == std::trunc(value);
}

std::optional<std::int64_t> ReadInteger(const json::object& object, std::string_view key,
                                        const std::string& path, Problems& problems,
                                        std::int64_t min, std::int64_t max) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  std::int64_t number = 0;
  if (value->is_int64()) {
    number = value->get_int64();
  } else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(max)) {
    number = static_cast<std::int64_t>(value->get_uint64());
  } else if (value->is_double() && IsWholeInt64(value->get_double())) {
    number = static_cast<std::int64_t>(value->get_double());
  } else {
    problems.Add(path, "must be an integer");
    return std::nullopt;
  }
  if (number < min || number > max) {
    problems.Add(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> ReadBool(const json::object& object, std::string_view key,
                             const std::string& path, Problems& problems) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_bool()) {
    problems.Add(path, "must be true or false");
    return std::nullopt;
  }
  return value->get_bool();
}

std::optional<TimePoint> ReadTime(const json::object& object, std::string_view key,
                                  const std::string& path, Problems& problems) {
  std::optional<std::string> text = ReadString(object, key, path, problems, false, 64);
  if (!text) return std::nullopt;
  std::optional<TimePoint> time = ParseRfc3339(*text);
  if (!time) {
    problems.Add(path, "must be an RFC 3339 time from " + std::string(kEarliestTimeText) + " to " +
                           std::string(kLatestTimeText) + ", such as 2027-05-01T19:00:00Z");
  }
  return time;
}

const json::array* ReadArray(const json::object& object, std::string_view key,
                             const std::string& path, Problems& problems, bool required) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) problems.Add(path, "is required");
    return nullptr;
  }
  if (!value->is_array()) {
    problems.Add(path, "must be an array");
    return nullptr;
  }
  return &value->get_array();
}

const json::object* ReadObject(const json::object& object, std::string_view key,
                               const std::string& path, Problems& problems) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return nullptr;
  if (!value->is_object()) {
    problems.Add(path, "must be an object");
    return nullptr;
  }
  return &value->get_object();
}

// Reads the identifier at `key` (tier ids, section ids, row labels) and records it in `seen`,
// so that a duplicate is reported at the later field.
std::string ReadUniqueId(const json::object& object, std::string_view key, const std::string& path,
                         Problems& problems, std::set<std::string>& seen, std::string_view what) {
  const std::string field = Path(path, key);
  std::optional<std::string> id = ReadString(object, key, field, problems, true, kIdMaxChars);
  if (!id) return "";
  if (!IsIdentifier(*id)) {
    problems.Add(field, "may hold only letters, digits and '_'");
  } else if (!seen.insert(*id).second) {
    problems.Add(field, "duplicates " + std::string(what) + " '" + *id + "'");
  }
  return *id;
}

void ParseTiers(const json::object& body, EventDefinition& event, Problems& problems) {
  const json::array* tiers = ReadArray(body, "price_tiers", "price_tiers", problems, true);
  if (tiers == nullptr) return;
  if (tiers->empty()) problems.Add("price_tiers", "must list at least one price tier");
  if (tiers->size() > kPriceTiersMax) {
    problems.Add("price_tiers", "must list at most " + std::to_string(kPriceTiersMax) + " tiers");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < tiers->size(); ++i) {
    const std::string path = Index("price_tiers", i);
    if (!(*tiers)[i].is_object()) {
      problems.Add(path, "must be an object");
      continue;
    }
    const json::object& tier_json = (*tiers)[i].get_object();
    PriceTier tier;
    tier.id = ReadUniqueId(tier_json, "id", path, problems, seen, "price tier");
    tier.name =
        ReadString(tier_json, "name", Path(path, "name"), problems, false, 200).value_or(tier.id);
    std::optional<std::int64_t> price = ReadInteger(
        tier_json, "price_cents", Path(path, "price_cents"), problems, 0, kPriceCentsMax);
    if (!price && !tier_json.contains("price_cents")) {
      problems.Add(Path(path, "price_cents"), "is required");
    }
    tier.price_cents = price.value_or(0);
    event.price_tiers.push_back(std::move(tier));
  }
}

void ParseRow(const json::value& row_value, const std::string& path, RowDefinition& row,
              Problems& problems, std::set<std::string>& labels) {
  if (!row_value.is_object()) {
    problems.Add(path, "must be an object");
    return;
  }
  const json::object& row_json = row_value.get_object();
  row.label = ReadUniqueId(row_json, "label", path, problems, labels, "row");
  std::optional<std::int64_t> seats =
      ReadInteger(row_json, "seats", Path(path, "seats"), problems, 0, kRowSeatsMax);
  if (!seats) {
    if (!row_json.contains("seats")) problems.Add(Path(path, "seats"), "is required");
    return;
  }
  if (*seats == 0) {
    problems.Add(Path(path, "seats"), "must be at least 1: a row needs seats");
    return;
  }
  row.seats = static_cast<std::uint32_t>(*seats);
  const json::array* accessible =
      ReadArray(row_json, "accessible", Path(path, "accessible"), problems, false);
  if (accessible == nullptr) return;
  for (std::size_t i = 0; i < accessible->size(); ++i) {
    const json::value& number = (*accessible)[i];
    const std::string number_path = Index(Path(path, "accessible"), i);
    if (!number.is_int64() && !number.is_uint64()) {
      problems.Add(number_path, "must be a seat number");
      continue;
    }
    // Unsigned numbers arrive as uint64 when written by the server itself (EventToJson).
    const std::int64_t n = number.is_int64() ? number.get_int64()
                           : number.get_uint64() <= kRowSeatsMax
                               ? static_cast<std::int64_t>(number.get_uint64())
                               : -1;
    if (n < 1 || n > static_cast<std::int64_t>(row.seats)) {
      problems.Add(number_path, "seat number " + SerializeJson(number) +
                                    " is outside the row's seats 1.." + std::to_string(row.seats));
      continue;
    }
    row.accessible.push_back(static_cast<std::uint32_t>(n));
  }
  std::sort(row.accessible.begin(), row.accessible.end());
  row.accessible.erase(std::unique(row.accessible.begin(), row.accessible.end()),
                       row.accessible.end());
}

void ParseSections(const json::object& body, EventDefinition& event, Problems& problems) {
  const json::array* sections = ReadArray(body, "sections", "sections", problems, true);
  if (sections == nullptr) return;
  if (sections->empty()) problems.Add("sections", "must list at least one section");
  if (sections->size() > kSectionsMax) {
    problems.Add("sections", "must list at most " + std::to_string(kSectionsMax) + " sections");
    return;
  }
  std::set<std::string> tier_ids;
  for (const PriceTier& tier : event.price_tiers) tier_ids.insert(tier.id);
  std::set<std::string> section_ids;
  std::uint64_t seat_count = 0;
  for (std::size_t i = 0; i < sections->size(); ++i) {
    const std::string path = Index("sections", i);
    if (!(*sections)[i].is_object()) {
      problems.Add(path, "must be an object");
      continue;
    }
    const json::object& section_json = (*sections)[i].get_object();
    SectionDefinition section;
    section.id = ReadUniqueId(section_json, "id", path, problems, section_ids, "section");
    section.name = ReadString(section_json, "name", Path(path, "name"), problems, false, 200)
                       .value_or("Section " + section.id);
    std::optional<std::string> tier =
        ReadString(section_json, "tier", Path(path, "tier"), problems, true, kIdMaxChars);
    if (tier && !tier_ids.contains(*tier)) {
      problems.Add(Path(path, "tier"), "names unknown price tier '" + *tier + "'");
    }
    section.tier = tier.value_or("");
    const json::array* rows = ReadArray(section_json, "rows", Path(path, "rows"), problems, true);
    if (rows != nullptr) {
      if (rows->empty()) problems.Add(Path(path, "rows"), "must list at least one row");
      if (rows->size() > kRowsPerSectionMax) {
        problems.Add(Path(path, "rows"),
                     "must list at most " + std::to_string(kRowsPerSectionMax) + " rows");
      } else {
        std::set<std::string> labels;
        for (std::size_t r = 0; r < rows->size(); ++r) {
          const std::string row_path = Index(Path(path, "rows"), r);
          RowDefinition row;
          ParseRow((*rows)[r], row_path, row, problems, labels);
          seat_count += row.seats;
          section.rows.push_back(std::move(row));
        }
      }
    }
    event.sections.push_back(std::move(section));
  }
  if (seat_count > kEventSeatsMax) {
    problems.Add("sections", "define " + std::to_string(seat_count) + " seats; at most " +
                                 std::to_string(kEventSeatsMax) + " are allowed");
  }
  event.seat_count = static_cast<std::uint32_t>(std::min<std::uint64_t>(seat_count, UINT32_MAX));
}

void ParseLimits(const json::object& body, EventDefinition& event, Problems& problems) {
  const json::object* limits = ReadObject(body, "limits", "limits", problems);
  if (limits != nullptr) {
    event.limits.per_order = static_cast<std::uint32_t>(
        ReadInteger(*limits, "per_order", "limits.per_order", problems, 1, kPerOrderMax)
            .value_or(kPerOrderMax));
    event.limits.per_customer = static_cast<std::uint32_t>(
        ReadInteger(*limits, "per_customer", "limits.per_customer", problems, 1, kPerCustomerMax)
            .value_or(std::max<std::uint32_t>(event.limits.per_order, kPerOrderMax)));
    if (event.limits.per_customer < event.limits.per_order) {
      problems.Add("limits.per_customer", "must be at least limits.per_order");
    }
  }
  event.hold_ttl_s = static_cast<std::uint32_t>(
      ReadInteger(body, "hold_ttl_s", "hold_ttl_s", problems, kHoldTtlMinS, kHoldTtlMaxS)
          .value_or(600));
}

void ParseQueue(const json::object& body, EventDefinition& event, Problems& problems) {
  const json::object* queue = ReadObject(body, "queue", "queue", problems);
  if (queue == nullptr) return;
  QueueSettings& settings = event.queue;
  settings.enabled = ReadBool(*queue, "enabled", "queue.enabled", problems).value_or(true);
  if (std::optional<std::string> policy =
          ReadString(*queue, "policy", "queue.policy", problems, false, 32)) {
    if (*policy == "fifo") {
      settings.policy = QueuePolicy::kFifo;
    } else if (*policy == "shuffle_prequeue") {
      settings.policy = QueuePolicy::kShufflePrequeue;
    } else {
      problems.Add("queue.policy", "must be fifo or shuffle_prequeue");
    }
  }
  settings.admission_rate_per_s = static_cast<std::uint32_t>(
      ReadInteger(*queue, "admission_rate_per_s", "queue.admission_rate_per_s", problems, 1,
                  kAdmissionRateMaxPerS)
          .value_or(settings.admission_rate_per_s));
  settings.max_active = static_cast<std::uint32_t>(
      ReadInteger(*queue, "max_active", "queue.max_active", problems, 1, kMaxActiveMax)
          .value_or(settings.max_active));
  settings.access_ttl_s =
      static_cast<std::uint32_t>(ReadInteger(*queue, "access_ttl_s", "queue.access_ttl_s", problems,
                                             kAccessTtlMinS, kAccessTtlMaxS)
                                     .value_or(settings.access_ttl_s));
  settings.paused = ReadBool(*queue, "paused", "queue.paused", problems).value_or(false);
  settings.idle_release_s =
      static_cast<std::uint32_t>(ReadInteger(*queue, "idle_release_s", "queue.idle_release_s",
                                             problems, kIdleReleaseMinS, kIdleReleaseMaxS)
                                     .value_or(settings.idle_release_s));
  settings.poll_budget_per_s =
      static_cast<std::uint32_t>(ReadInteger(*queue, "poll_budget_per_s", "queue.poll_budget_per_s",
                                             problems, kPollBudgetMinPerS, kPollBudgetMaxPerS)
                                     .value_or(settings.poll_budget_per_s));
  settings.order_ends_access =
      ReadBool(*queue, "order_ends_access", "queue.order_ends_access", problems).value_or(true);
}

void ParseDefense(const json::object& body, EventDefinition& event, Problems& problems) {
  const json::object* defense = ReadObject(body, "defense", "defense", problems);
  if (defense == nullptr) return;
  std::optional<std::string> challenge =
      ReadString(*defense, "challenge", "defense.challenge", problems, false, 16);
  if (!challenge) return;
  if (*challenge == "risk") {
    event.challenge = ChallengeMode::kRisk;
  } else if (*challenge == "always") {
    event.challenge = ChallengeMode::kAlways;
  } else if (*challenge == "off") {
    event.challenge = ChallengeMode::kOff;
  } else {
    problems.Add("defense.challenge", "must be risk, always or off");
  }
}

}  // namespace

std::string_view QueuePolicyName(QueuePolicy policy) {
  return policy == QueuePolicy::kFifo ? "fifo" : "shuffle_prequeue";
}

std::string_view ChallengeModeName(ChallengeMode mode) {
  switch (mode) {
    case ChallengeMode::kRisk:
      return "risk";
    case ChallengeMode::kAlways:
      return "always";
    case ChallengeMode::kOff:
      return "off";
  }
  return "risk";
}

Result<EventDefinition> ParseEventDefinition(const json::value& body) {
  if (!body.is_object()) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                       "The event definition must be a JSON object.", {{"field", ""}});
  }
  const json::object& object = body.get_object();
  Problems problems;
  EventDefinition event;
  event.name = ReadString(object, "name", "name", problems, true, kEventNameMaxChars).value_or("");
  event.venue = ReadString(object, "venue", "venue", problems, false, kVenueMaxChars);
  // An empty venue says nothing; keeping it would answer "" where the convention is null.
  if (event.venue && event.venue->empty()) event.venue.reset();
  event.starts_at = ReadTime(object, "starts_at", "starts_at", problems);
  event.onsale_at = ReadTime(object, "onsale_at", "onsale_at", problems);
  if (std::optional<std::string> currency =
          ReadString(object, "currency", "currency", problems, false, 3)) {
    if (currency->size() != 3 || !std::all_of(currency->begin(), currency->end(),
                                              [](char c) { return c >= 'A' && c <= 'Z'; })) {
      problems.Add("currency", "must be an ISO 4217 code such as USD");
    }
    event.currency = *currency;
  }
  ParseTiers(object, event, problems);
  ParseSections(object, event, problems);
  ParseLimits(object, event, problems);
  ParseQueue(object, event, problems);
  ParseDefense(object, event, problems);
  if (!problems.empty()) return std::move(problems).ToError();
  return event;
}

json::object EventToJson(const EventDefinition& event) {
  json::object out;
  out["id"] = event.id;
  out["name"] = event.name;
  out["venue"] = event.venue ? json::value(*event.venue) : nullptr;
  out["starts_at"] = event.starts_at ? json::value(FormatRfc3339(*event.starts_at)) : nullptr;
  out["onsale_at"] = event.onsale_at ? json::value(FormatRfc3339(*event.onsale_at)) : nullptr;
  out["currency"] = event.currency;
  json::array tiers;
  for (const PriceTier& tier : event.price_tiers) {
    tiers.push_back(
        json::object{{"id", tier.id}, {"name", tier.name}, {"price_cents", tier.price_cents}});
  }
  out["price_tiers"] = std::move(tiers);
  json::array sections;
  for (const SectionDefinition& section : event.sections) {
    json::array rows;
    for (const RowDefinition& row : section.rows) {
      json::array accessible(row.accessible.begin(), row.accessible.end());
      rows.push_back(json::object{
          {"label", row.label}, {"seats", row.seats}, {"accessible", std::move(accessible)}});
    }
    sections.push_back(json::object{{"id", section.id},
                                    {"name", section.name},
                                    {"tier", section.tier},
                                    {"rows", std::move(rows)}});
  }
  out["sections"] = std::move(sections);
  out["limits"] = json::object{{"per_order", event.limits.per_order},
                               {"per_customer", event.limits.per_customer}};
  out["hold_ttl_s"] = event.hold_ttl_s;
  out["queue"] = json::object{{"enabled", event.queue.enabled},
                              {"policy", QueuePolicyName(event.queue.policy)},
                              {"admission_rate_per_s", event.queue.admission_rate_per_s},
                              {"max_active", event.queue.max_active},
                              {"access_ttl_s", event.queue.access_ttl_s},
                              {"paused", event.queue.paused},
                              {"idle_release_s", event.queue.idle_release_s},
                              {"poll_budget_per_s", event.queue.poll_budget_per_s},
                              {"order_ends_access", event.queue.order_ends_access}};
  out["defense"] = json::object{{"challenge", ChallengeModeName(event.challenge)}};
  out["seat_count"] = event.seat_count;
  out["created_at"] = FormatRfc3339(event.created_at);
  return out;
}

Result<EventDefinition> EventFromStoredJson(const json::value& stored) {
  Result<EventDefinition> event = ParseEventDefinition(stored);
  if (!event) return event;
  const json::object& object = stored.get_object();
  const json::string* id = object.contains("id") && object.at("id").is_string()
                               ? &object.at("id").get_string()
                               : nullptr;
  const json::string* created = object.contains("created_at") && object.at("created_at").is_string()
                                    ? &object.at("created_at").get_string()
                                    : nullptr;
  std::optional<TimePoint> created_at = created ? ParseRfc3339(*created) : std::nullopt;
  if (id == nullptr || id->empty() || !created_at) {
    return Error::Internal("a stored event lacks its id or created_at");
  }
  event->id = std::string(*id);
  event->created_at = *created_at;
  const json::value* seat_count = object.if_contains("seat_count");
  // The overload with an error code: the throwing one threw out of the catalog's load for a count
  // that is no whole unsigned number (-1, 1.5), where an altered row must be this error (found by
  // fuzz/json_documents_fuzzer.cpp).
  std::error_code not_a_count;
  if (seat_count == nullptr || !seat_count->is_number() ||
      seat_count->to_number<std::uint64_t>(not_a_count) != event->seat_count || not_a_count) {
    // The seat map is derived from the sections; a mismatch means the stored row was altered.
    return Error::Internal("stored event " + event->id + " disagrees with its own seat count");
  }
  return event;
}

}  // namespace boxoffice
