// The poll budget: how long a waiting fan is told to wait before the next status call, so that
// the whole queue's status traffic stays within the event's `queue.poll_budget_per_s` however
// long the queue is, while a fan near the front still hears of their admission within a second
// or two. docs/api.md ("The poll budget") gives the formula with a worked example.
//
// Half the budget goes to a ramp at the front: fan p (1-based) polls every ceil(p / k) seconds,
// k = max(B / (2 (1 + ln C)), r), which costs about k (1 + ln C) polls a second (so the budget
// holds whenever B >= 2 r (1 + ln C); below that the front's rhythm wins). The other half
// goes to the tail, where every fan polls at the cap C = max(30, 2 W / B) seconds, which costs
// W / C <= B / 2. Fans at the cap are spread over its last tenth by their sequence number, so a
// burst of joins does not come back as a burst of polls. The interval depends on the position
// only, never on the ETA: when admission is held back by max_active the measured outflow drops
// near zero, and an ETA-based interval would leave the fans at the front polling at the cap,
// hearing of their admission a minute late.
#pragma once

#include <cstdint>

namespace boxoffice {

inline constexpr std::uint32_t kPollIntervalFloorCapS = 30;  // the cap while the queue is short
inline constexpr std::uint32_t kPollIntervalCeilingS = 3'600;

struct PollLoad {
  std::uint64_t waiting = 0;       // W: fans waiting now
  double outflow_per_s = 1;        // r: admissions per second
  std::uint32_t budget_per_s = 1;  // B: the event's poll budget
};

// C: the longest interval any fan is told, for this load.
std::uint32_t PollIntervalCapS(const PollLoad& load);

// The interval for the fan at `position` (1 = next in line); `sequence` only spreads fans at the
// cap.
std::uint32_t PollIntervalS(std::uint64_t position, std::uint64_t sequence, const PollLoad& load);

// The interval for a fan in the pre-queue, `until_open_s` before the on-sale opens, with
// `prequeue` fans waiting for it: as the opening nears, no faster than the budget allows for
// them all.
std::uint32_t PrequeuePollIntervalS(std::uint64_t until_open_s, std::uint64_t prequeue,
                                    std::uint32_t budget_per_s);

}  // namespace boxoffice
