// The `Clock` port: every rule that depends on time (expiry, pacing, rate limits, breakers) asks
// an injected clock, so tests move a fake one instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace boxoffice {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Wall-clock time as it was when the clock was made, moved on by the steady clock: it never steps
// when NTP or an operator sets the system clock, so timeouts measured on it neither fire early
// nor hang. It parts from the system clock only by the steps taken after it was made.
class MonotonicClock final : public Clock {
 public:
  MonotonicClock()
      : wall_start_(std::chrono::system_clock::now()),
        steady_start_(std::chrono::steady_clock::now()) {}
  TimePoint Now() const override {
    return wall_start_ + std::chrono::duration_cast<TimePoint::duration>(
                             std::chrono::steady_clock::now() - steady_start_);
  }

 private:
  const TimePoint wall_start_;
  const std::chrono::steady_clock::time_point steady_start_;
};

// A clock that only moves when told to; safe to read from many threads.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'800'000'000)))
      : now_us_(std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch())
                    .count()) {}
  TimePoint Now() const override { return TimePoint(std::chrono::microseconds(now_us_.load())); }
  void Advance(std::chrono::microseconds by) { now_us_ += by.count(); }
  void Set(TimePoint to) {
    now_us_ = std::chrono::duration_cast<std::chrono::microseconds>(to.time_since_epoch()).count();
  }

 private:
  std::atomic<long long> now_us_;
};

}  // namespace boxoffice
