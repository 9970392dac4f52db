#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "common/json_text.hpp"
#include "common/time.hpp"

namespace boxoffice {

void SetupLogging(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("boxoffice");
  // The JSON object is the whole line; spdlog only adds the newline.
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void Log(spdlog::level::level_enum level, std::string_view message, boost::json::object fields) {
  if (!spdlog::should_log(level)) return;
  boost::json::object line;
  line["ts"] = FormatRfc3339Millis(std::chrono::system_clock::now());
  line["level"] = std::string_view(spdlog::level::to_string_view(level).data(),
                                   spdlog::level::to_string_view(level).size());
  line["msg"] = message;
  for (auto& field : fields) line[field.key()] = std::move(field.value());
  spdlog::log(level, "{}", SerializeJson(line));
}

}  // namespace boxoffice
