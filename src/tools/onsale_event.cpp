#include "tools/onsale_event.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/time.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

constexpr const char* kTierIds[kTiersMax] = {"A", "B", "C"};
constexpr const char* kTierNames[kTiersMax] = {"Front", "Middle", "Back"};
constexpr std::int64_t kTierPrices[kTiersMax] = {15'000, 9'000, 5'000};
constexpr int kAccessTtlS = 600;
// The show itself, some weeks after the on-sale.
constexpr auto kShowAfter = std::chrono::hours(24 * 30);

std::optional<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream file(path);
  std::string key;
  if (!file || !std::getline(file, key)) return std::nullopt;
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  if (key.empty()) return std::nullopt;
  return key;
}

std::optional<std::uint64_t> Count(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  const double number = value->to_number<double>();
  if (number < 0) return std::nullopt;
  return static_cast<std::uint64_t>(number);
}

std::optional<std::string> Text(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

}  // namespace

json::object EventDefinition(const OnsaleOptions& options, const std::string& onsale_at) {
  const std::uint32_t seats = std::max<std::uint32_t>(1, options.seats);
  const std::uint32_t rows = (seats + kSeatsPerRow - 1) / kSeatsPerRow;
  const std::uint32_t sections =
      rows < 3 ? rows
               : std::max<std::uint32_t>(3, (rows + kRowsPerSectionMax - 1) / kRowsPerSectionMax);
  const int tiers = static_cast<int>(std::min<std::uint32_t>(kTiersMax, sections));
  json::array price_tiers;
  for (int tier = 0; tier < tiers; ++tier) {
    price_tiers.push_back(json::object{
        {"id", kTierIds[tier]}, {"name", kTierNames[tier]}, {"price_cents", kTierPrices[tier]}});
  }
  json::array section_list;
  std::uint32_t row = 0;
  for (std::uint32_t section = 0; section < sections; ++section) {
    const std::uint32_t rows_end = (section + 1) * rows / sections;
    json::array row_list;
    for (std::uint32_t label = 1; row < rows_end; ++row, ++label) {
      const std::uint32_t in_row = std::min(kSeatsPerRow, seats - row * kSeatsPerRow);
      row_list.push_back(json::object{{"label", "R" + std::to_string(label)}, {"seats", in_row}});
    }
    const int tier = static_cast<int>(section * tiers / sections);
    section_list.push_back(json::object{{"id", "S" + std::to_string(section + 1)},
                                        {"name", "Section " + std::to_string(section + 1)},
                                        {"tier", kTierIds[tier]},
                                        {"rows", std::move(row_list)}});
  }
  json::object definition{
      {"name", "onsale seed " + std::to_string(options.seed) + ", " + std::to_string(options.fans) +
                   " fans"},
      {"starts_at", FormatRfc3339(std::chrono::system_clock::now() + kShowAfter)},
      {"currency", "USD"},
      {"price_tiers", std::move(price_tiers)},
      {"sections", std::move(section_list)},
      {"limits",
       json::object{{"per_order", options.per_order}, {"per_customer", options.per_order}}},
      {"hold_ttl_s", options.hold_ttl_s},
      {"queue", json::object{{"enabled", true},
                             {"policy", options.policy},
                             {"admission_rate_per_s", options.admission_rate_per_s},
                             {"max_active", options.max_active},
                             {"access_ttl_s", kAccessTtlS},
                             {"idle_release_s", options.idle_release_s},
                             {"poll_budget_per_s", options.poll_budget_per_s}}},
      {"defense", json::object{{"challenge", options.challenge}}}};
  if (!onsale_at.empty()) definition["onsale_at"] = onsale_at;
  return definition;
}

std::optional<OperatorKey> ReadOperatorKey(const OnsaleOptions& options, std::string& why) {
  if (!options.operator_key_file.empty()) {
    std::optional<std::string> key = ReadKeyFile(options.operator_key_file);
    if (!key) {
      why = "cannot read an operator key from --operator-key-file " + options.operator_key_file;
      return std::nullopt;
    }
    return OperatorKey{std::move(*key), options.operator_key_file};
  }
  if (const char* key = std::getenv(options.operator_key_env.c_str()); key && *key) {
    return OperatorKey{key, "$" + options.operator_key_env};
  }
  std::error_code error;
  if (std::filesystem::exists(kDefaultKeyFile, error)) {
    if (std::optional<std::string> key = ReadKeyFile(kDefaultKeyFile)) {
      return OperatorKey{std::move(*key), kDefaultKeyFile};
    }
  }
  why = "no operator key: set " + options.operator_key_env +
        ", pass --operator-key-file FILE (e.g. <data-dir>/admin.key), or run from the folder "
        "where `make run` wrote " +
        kDefaultKeyFile;
  return std::nullopt;
}

std::optional<EventFacts> ReadEventFacts(const json::object& event) {
  EventFacts facts;
  std::optional<std::string> id = Text(event, "id");
  if (!id) return std::nullopt;
  facts.id = std::move(*id);
  facts.seat_count = Count(event, "seat_count").value_or(0);
  if (const json::value* limits = event.if_contains("limits"); limits && limits->is_object()) {
    facts.per_order = static_cast<int>(Count(limits->get_object(), "per_order").value_or(8));
  }
  if (std::optional<std::string> onsale_at = Text(event, "onsale_at")) {
    facts.onsale_at = ParseRfc3339(*onsale_at);
  }
  if (const json::value* queue = event.if_contains("queue"); queue && queue->is_object()) {
    const json::object& object = queue->get_object();
    const json::value* enabled = object.if_contains("enabled");
    facts.queue_enabled = enabled == nullptr || (enabled->is_bool() && enabled->get_bool());
    ReadQueueFacts(object, facts);
  }
  return facts;
}

void ReadQueueFacts(const json::object& queue, EventFacts& facts) {
  if (std::optional<std::string> policy = Text(queue, "policy")) facts.policy = *policy;
  if (std::optional<std::string> commitment = Text(queue, "seed_sha256")) {
    facts.seed_sha256 = *commitment;
  }
  if (std::optional<std::string> seed = Text(queue, "seed")) facts.seed = *seed;
  if (std::optional<std::uint64_t> size = Count(queue, "prequeue_size")) facts.prequeue_size = size;
  if (const json::value* rate = queue.if_contains("admission_rate_per_s");
      rate != nullptr && rate->is_number()) {
    facts.admission_rate_per_s = rate->to_number<double>();
  }
}

}  // namespace boxoffice::tools::onsale
