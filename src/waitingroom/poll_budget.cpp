#include "waitingroom/poll_budget.hpp"

#include <algorithm>
#include <cmath>

namespace boxoffice {
namespace {

std::uint64_t CeilDiv(double numerator, double denominator) {
  return static_cast<std::uint64_t>(std::ceil(numerator / std::max(denominator, 1e-9)));
}

std::uint32_t Clamp(std::uint64_t seconds, std::uint32_t cap) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(seconds, 1, cap));
}

}  // namespace

std::uint32_t PollIntervalCapS(const PollLoad& load) {
  const std::uint64_t spread = CeilDiv(2.0 * static_cast<double>(load.waiting), load.budget_per_s);
  return static_cast<std::uint32_t>(
      std::clamp<std::uint64_t>(spread, kPollIntervalFloorCapS, kPollIntervalCeilingS));
}

std::uint32_t PollIntervalS(std::uint64_t position, std::uint64_t sequence, const PollLoad& load) {
  const std::uint32_t cap = PollIntervalCapS(load);
  const double ramp = std::max(
      static_cast<double>(load.budget_per_s) / (2 * (1 + std::log(static_cast<double>(cap)))),
      load.outflow_per_s);
  const std::uint64_t interval = CeilDiv(static_cast<double>(position), ramp);
  if (interval < cap) return Clamp(interval, cap);
  // At the cap: spread over its last tenth.
  return cap - static_cast<std::uint32_t>(sequence % (cap / 10 + 1));
}

std::uint32_t PrequeuePollIntervalS(std::uint64_t until_open_s, std::uint64_t prequeue,
                                    std::uint32_t budget_per_s) {
  const std::uint64_t spread = CeilDiv(static_cast<double>(prequeue), budget_per_s);
  return Clamp(std::max(until_open_s / 2, spread), PollIntervalCapS({prequeue, 1, budget_per_s}));
}

}  // namespace boxoffice
