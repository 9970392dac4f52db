// Logs at the server's default level into a sink that drops them: the log lines a fuzzed input
// causes are built and serialized as in production (their fields hold the input), but a run of
// millions of inputs does not print millions of lines.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace boxoffice::fuzz {

inline void DropLogs() {
  auto logger =
      std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace boxoffice::fuzz
