// Structured logs: one JSON object per line on stderr, through spdlog, so that a log shipper
// can index every field. `Log(level, "event_created", {{"event_id", id}})`.
#pragma once

#include <spdlog/common.h>
#include <boost/json/object.hpp>
#include <string_view>

namespace boxoffice {

// Installs the JSON line format on spdlog's default logger. `level` is trace..critical or off.
void SetupLogging(std::string_view level);

void Log(spdlog::level::level_enum level, std::string_view message,
         boost::json::object fields = {});

inline void LogInfo(std::string_view message, boost::json::object fields = {}) {
  Log(spdlog::level::info, message, std::move(fields));
}
inline void LogWarn(std::string_view message, boost::json::object fields = {}) {
  Log(spdlog::level::warn, message, std::move(fields));
}
inline void LogError(std::string_view message, boost::json::object fields = {}) {
  Log(spdlog::level::err, message, std::move(fields));
}

}  // namespace boxoffice
