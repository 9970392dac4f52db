#include "common/failpoint.hpp"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/text.hpp"

namespace boxoffice::failpoint {
namespace {

constexpr const char* kVariable = "BOXOFFICE_FAILPOINTS";

struct Armed {
  std::string name;
  std::uint64_t at_hit = 1;
  std::uint32_t delay_ms = 0;  // how long the thread that hit it waits before the crash
  std::atomic<std::uint64_t> hits{0};
};

Error BadSpec(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_failpoints",
                     std::string(kVariable) + ": " + std::move(message));
}

// "name:crash", "name:crash@N" or "name:crash@N+Dms", comma-separated.
Result<std::vector<std::unique_ptr<Armed>>> Parse(std::string_view spec) {
  std::vector<std::unique_ptr<Armed>> armed;
  while (!spec.empty()) {
    const std::size_t comma = spec.find(',');
    const std::string_view item = TrimBlanks(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return BadSpec("'" + std::string(item) + "' is not NAME:crash[@N][+Dms].");
    }
    auto point = std::make_unique<Armed>();
    point->name = std::string(item.substr(0, colon));
    if (std::find(kFailpoints.begin(), kFailpoints.end(), point->name) == kFailpoints.end()) {
      return BadSpec("no failpoint is named '" + point->name + "'.");
    }
    std::string_view action = item.substr(colon + 1);
    if (const std::size_t plus = action.find('+'); plus != std::string_view::npos) {
      std::string_view delay = action.substr(plus + 1);
      action = action.substr(0, plus);
      const bool in_ms = delay.ends_with("ms");
      if (in_ms) delay.remove_suffix(2);
      const auto [end, error] =
          std::from_chars(delay.data(), delay.data() + delay.size(), point->delay_ms);
      if (!in_ms || error != std::errc() || end != delay.data() + delay.size() ||
          point->delay_ms > 60'000) {
        return BadSpec("'" + std::string(item) + "': the delay is +Dms, at most 60000.");
      }
    }
    const std::size_t at = action.find('@');
    if (at != std::string_view::npos) {
      const std::string_view count = action.substr(at + 1);
      const auto [end, error] =
          std::from_chars(count.data(), count.data() + count.size(), point->at_hit);
      if (error != std::errc() || end != count.data() + count.size() || point->at_hit == 0) {
        return BadSpec("'" + std::string(count) + "' is not a hit number (1 or more).");
      }
      action = action.substr(0, at);
    }
    if (action != "crash") {
      return BadSpec("'" + std::string(action) + "' is not an action (the one is 'crash').");
    }
    armed.push_back(std::move(point));
  }
  return armed;
}

#ifdef BOXOFFICE_FAILPOINTS
// The points armed by the environment, read once; a spec that does not parse arms nothing here
// (CheckEnvironment, called by serve at start, refuses it).
const std::vector<std::unique_ptr<Armed>>& ArmedPoints() {
  static const std::vector<std::unique_ptr<Armed>> armed = [] {
    const char* spec = std::getenv(kVariable);
    Result<std::vector<std::unique_ptr<Armed>>> parsed =
        Parse(spec == nullptr ? std::string_view() : std::string_view(spec));
    return parsed ? std::move(parsed).value() : std::vector<std::unique_ptr<Armed>>{};
  }();
  return armed;
}
#endif

}  // namespace

Status CheckEnvironment() {
  const char* spec = std::getenv(kVariable);
  if (spec == nullptr || *spec == '\0') return {};
  Result<std::vector<std::unique_ptr<Armed>>> parsed = Parse(spec);
  if (!parsed) return parsed.error();
#ifdef BOXOFFICE_FAILPOINTS
  return {};
#else
  return BadSpec("this build has no failpoints (they are compiled into the sanitizer builds).");
#endif
}

#ifdef BOXOFFICE_FAILPOINTS
void Hit(std::string_view name) {
  for (const std::unique_ptr<Armed>& point : ArmedPoints()) {
    if (point->name != name) continue;
    const std::uint64_t hit = point->hits.fetch_add(1, std::memory_order_relaxed) + 1;
    if (hit != point->at_hit) continue;
    // The other threads run on meanwhile: what they send before the crash, a client has.
    if (point->delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(point->delay_ms));
    // Raw write(2) and SIGKILL: nothing of the process's own machinery may run on the way out.
    char line[160];
    const int length = std::snprintf(
        line, sizeof line, "boxoffice: failpoint %.*s: crashing at hit %llu\n",
        static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(hit));
    if (length > 0) {
      [[maybe_unused]] const ssize_t written =
          ::write(STDERR_FILENO, line, std::min<std::size_t>(length, sizeof line - 1));
    }
    ::kill(::getpid(), SIGKILL);
  }
}
#endif

}  // namespace boxoffice::failpoint
