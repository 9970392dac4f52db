// The DefenseListStore part of the SQLite ledger: each list is one row of the settings table,
// `defense.<list>`, holding the list as JSON ([{"cidr", "reason", "created_at", "expires_at"}],
// times in RFC 3339, expires_at null for never), the format data dirs have kept since the lists
// were first persisted.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "common/json_text.hpp"
#include "common/time.hpp"
#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

std::string ListKey(std::string_view list) { return "defense." + std::string(list); }

}  // namespace

void SqliteLedger::SaveCidrList(std::string list, std::vector<CidrListRecord> entries, Done done) {
  json::array out;
  out.reserve(entries.size());
  for (const CidrListRecord& entry : entries) {
    json::object item{{"cidr", entry.cidr},
                      {"reason", entry.reason},
                      {"created_at", FormatRfc3339(FromUnixMillis(entry.created_at_ms))}};
    item["expires_at"] = entry.expires_at_ms != 0
                             ? json::value(FormatRfc3339(FromUnixMillis(entry.expires_at_ms)))
                             : json::value(nullptr);
    out.push_back(std::move(item));
  }
  PutSetting(ListKey(list), SerializeJson(out), std::move(done));
}

Result<std::vector<CidrListRecord>> SqliteLedger::LoadCidrList(const std::string& list) {
  Result<std::optional<std::string>> stored = GetSetting(ListKey(list));
  if (!stored) return stored.error();
  std::vector<CidrListRecord> entries;
  if (!stored->has_value()) return entries;
  const Error broken = Error::Internal("the stored " + list + " is not a list of ranges");
  std::error_code parse_error;
  const json::value parsed = json::parse(**stored, parse_error);
  if (parse_error || !parsed.is_array()) return broken;
  for (const json::value& item : parsed.get_array()) {
    const json::object* object = item.if_object();
    const json::value* cidr = object ? object->if_contains("cidr") : nullptr;
    const json::value* reason = object ? object->if_contains("reason") : nullptr;
    const json::value* created = object ? object->if_contains("created_at") : nullptr;
    const json::value* expires = object ? object->if_contains("expires_at") : nullptr;
    if (cidr == nullptr || !cidr->is_string() || reason == nullptr || !reason->is_string() ||
        created == nullptr || !created->is_string()) {
      return broken;
    }
    CidrListRecord entry;
    entry.cidr = std::string(cidr->get_string());
    entry.reason = std::string(reason->get_string());
    const std::optional<TimePoint> created_at = ParseRfc3339(created->get_string());
    if (!created_at) return broken;
    entry.created_at_ms = ToUnixMillis(*created_at);
    if (expires != nullptr && expires->is_string()) {
      const std::optional<TimePoint> expires_at = ParseRfc3339(expires->get_string());
      if (!expires_at) return broken;
      entry.expires_at_ms = ToUnixMillis(*expires_at);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace boxoffice
