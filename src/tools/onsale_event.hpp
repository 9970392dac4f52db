// The event an `onsale` run plays (tools/onsale.hpp): the definition the tool creates through the
// operator API, what the run reads back of an event (its own or an existing one), and where the
// operator key comes from.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "ports/clock.hpp"
#include "tools/onsale.hpp"

namespace boxoffice::tools::onsale {

inline constexpr std::uint32_t kSeatsPerRow = 50;
inline constexpr std::uint32_t kRowsPerSectionMax = 20;
// Price tiers front to back: the first third of the sections, the second, the last.
inline constexpr int kTiersMax = 3;
// Where `make run` leaves the key it generated.
inline constexpr const char* kDefaultKeyFile = "data/admin.key";

// POST /v1/events: `options.seats` seats in rows of 50 (the last row takes the rest), sections
// of up to 20 rows (at least three sections when there are three rows), priced in up to three
// tiers from the front; the queue, limits, hold TTL and challenge policy of the options;
// opening at `onsale_at` (RFC 3339; empty: at once).
boost::json::object EventDefinition(const OnsaleOptions& options, const std::string& onsale_at);

struct OperatorKey {
  std::string key;
  std::string source;  // where it came from, for messages
};
// --operator-key-file, else the environment variable, else data/admin.key when it exists;
// nullopt (with `why` said) when none holds a key.
std::optional<OperatorKey> ReadOperatorKey(const OnsaleOptions& options, std::string& why);

// What the run needs of its event (GET /v1/events/{id} or the 201 of its creation).
struct EventFacts {
  std::string id;
  std::uint64_t seat_count = 0;
  int per_order = 8;
  bool queue_enabled = false;
  std::string policy = "fifo";
  std::optional<TimePoint> onsale_at;
  std::optional<std::string> seed_sha256;  // shuffled events, from the start
  std::optional<std::string> seed;         // ... once the on-sale opened
  std::optional<std::uint64_t> prequeue_size;
  std::optional<double> admission_rate_per_s;
};
std::optional<EventFacts> ReadEventFacts(const boost::json::object& event);
// The shuffle's fields of an event's `queue` object into `facts`.
void ReadQueueFacts(const boost::json::object& queue, EventFacts& facts);

}  // namespace boxoffice::tools::onsale
