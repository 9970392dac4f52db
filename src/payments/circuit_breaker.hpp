// A circuit breaker for one payment gateway: it stops sending payments to a gateway that keeps
// failing, and lets a few probes through later to find out whether it has recovered.
//
// Closed: every call goes through; outcomes land in a time-based sliding window (10 s by
// default, in 1 s buckets, so old calls fall out on their own). The breaker opens when the window
// holds at least `calls_min` calls and more than `error_ratio_max` of them failed. Open: no call
// goes through for `open_duration`; then half-open: up to `half_open_probes` calls at a time go
// through; the first probe that succeeds closes the breaker (with an empty window), a probe that
// fails opens it again for another `open_duration`. Time comes from the Clock port, so tests move
// a FakeClock. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "ports/clock.hpp"

namespace boxoffice {

struct CircuitBreakerOptions {
  std::chrono::seconds window{10};
  std::uint32_t calls_min = 20;
  double error_ratio_max = 0.05;  // opens when errors / calls is above this
  std::chrono::seconds open_duration{10};
  std::uint32_t half_open_probes = 3;
};

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

std::string_view BreakerStateName(BreakerState state);

// The calls of a breaker's sliding window as of now, and how many of them failed.
struct BreakerWindow {
  std::uint32_t calls = 0;
  std::uint32_t failures = 0;
};

class CircuitBreaker {
 public:
  static constexpr std::size_t kBuckets = 10;  // the window is split into this many buckets

  explicit CircuitBreaker(const Clock& clock, CircuitBreakerOptions options = {});

  // Whether a call may go to the gateway now. In half-open it reserves one probe: every call
  // that was allowed must be followed by Record().
  bool Allow();
  // The outcome of an allowed call: failure means the gateway did not answer properly (an error,
  // a timeout), not that a card was declined.
  void Record(bool success);

  // The state as of now (an open breaker whose time is up reads as half-open).
  BreakerState state() const;
  // What the window holds as of now: empty while open (it is cleared when the breaker opens) and
  // right after a probe closed it.
  BreakerWindow window() const;

 private:
  struct Bucket {
    std::int64_t index = -1;  // which slice of time it counts; -1 when unused
    std::uint32_t calls = 0;
    std::uint32_t errors = 0;
  };

  // Under `mutex_`.
  void MoveToHalfOpenIfDue(TimePoint now);
  void ClearWindow();
  BreakerWindow Sum(std::int64_t index) const;
  std::int64_t BucketIndex(TimePoint now) const;

  const Clock& clock_;
  const CircuitBreakerOptions options_;
  const std::chrono::microseconds bucket_length_;
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  TimePoint opened_at_{};
  std::uint32_t probes_in_flight_ = 0;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace boxoffice
