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
