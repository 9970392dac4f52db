// Times at the API boundary are RFC 3339 strings in UTC; inside they are system_clock points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ports/clock.hpp"

namespace boxoffice {

// Accepts "2027-05-01T19:00:00Z", fractional seconds, and numeric offsets ("+02:00").
std::optional<TimePoint> ParseRfc3339(std::string_view text);
// "2027-05-01T19:00:00Z" (whole seconds, UTC).
std::string FormatRfc3339(TimePoint time);
// "2027-05-01T19:00:00.123Z" (milliseconds, UTC), for log lines.
std::string FormatRfc3339Millis(TimePoint time);

std::int64_t ToUnixMillis(TimePoint time);
std::int64_t ToUnixSeconds(TimePoint time);
TimePoint FromUnixMillis(std::int64_t millis);

}  // namespace boxoffice
