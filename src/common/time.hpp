// Times at the API boundary are RFC 3339 strings in UTC; inside they are system_clock points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ports/clock.hpp"

namespace boxoffice {

// The instants a time at the boundary may name: from 1970-01-01T00:00:00Z up to, not including,
// 2262-01-01T00:00:00Z, that is the years 1970 to 2261 in UTC. A TimePoint counts nanoseconds in
// 64 bits, so it ends at 2262-04-11T23:47:16Z (and begins in 1677): a later or much earlier time
// would wrap round to another instant, and an event meant for 2262 would go on sale in 1677,
// at once. Nothing a box office sells happened before 1970, and the months left before the end
// are headroom for the durations added to a time (a hold's or an access token's TTL).
inline constexpr std::int64_t kEarliestUnixSeconds = 0;         // 1970-01-01T00:00:00Z
inline constexpr std::int64_t kEndUnixSeconds = 9'214'646'400;  // 2262-01-01T00:00:00Z
inline constexpr std::string_view kEarliestTimeText = "1970-01-01T00:00:00Z";
inline constexpr std::string_view kLatestTimeText = "2261-12-31T23:59:59Z";

// Accepts "2027-05-01T19:00:00Z", fractional seconds, and numeric offsets ("+02:00"). Nullopt for
// anything else, and for a time outside [kEarliestUnixSeconds, kEndUnixSeconds) once its offset
// is applied: such a time is never turned into some other instant.
std::optional<TimePoint> ParseRfc3339(std::string_view text);
// "2027-05-01T19:00:00Z" (whole seconds, UTC).
std::string FormatRfc3339(TimePoint time);
// "2027-05-01T19:00:00.123Z" (milliseconds, UTC), for log lines.
std::string FormatRfc3339Millis(TimePoint time);

std::int64_t ToUnixMillis(TimePoint time);
std::int64_t ToUnixSeconds(TimePoint time);
TimePoint FromUnixMillis(std::int64_t millis);

}  // namespace boxoffice
