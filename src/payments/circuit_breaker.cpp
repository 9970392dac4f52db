#include "payments/circuit_breaker.hpp"
#include "common/check.hpp"

#include <algorithm>

namespace boxoffice {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kOpen:
      return "open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(const Clock& clock, CircuitBreakerOptions options)
    : clock_(clock),
      options_(options),
      bucket_length_(std::max<std::chrono::microseconds::rep>(
          1, std::chrono::duration_cast<std::chrono::microseconds>(options.window).count() /
                 static_cast<std::chrono::microseconds::rep>(kBuckets))) {
  BOXOFFICE_CHECK(options_.calls_min > 0, "a breaker needs a minimum of calls");
  BOXOFFICE_CHECK(options_.half_open_probes > 0, "a breaker needs half-open probes");
}

void CircuitBreaker::MoveToHalfOpenIfDue(TimePoint now) {
  if (state_ == BreakerState::kOpen && now >= opened_at_ + options_.open_duration) {
    state_ = BreakerState::kHalfOpen;
    probes_in_flight_ = 0;
  }
}

void CircuitBreaker::ClearWindow() { buckets_.fill(Bucket{}); }

std::int64_t CircuitBreaker::BucketIndex(TimePoint now) const {
  return std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() /
         bucket_length_.count();
}

// The buckets of the window that ends with bucket `index`.
BreakerWindow CircuitBreaker::Sum(std::int64_t index) const {
  BreakerWindow window;
  for (const Bucket& counted : buckets_) {
    if (counted.index > index - static_cast<std::int64_t>(kBuckets) && counted.index <= index) {
      window.calls += counted.calls;
      window.failures += counted.errors;
    }
  }
  return window;
}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mutex_);
  MoveToHalfOpenIfDue(clock_.Now());
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      return false;
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ >= options_.half_open_probes) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

void CircuitBreaker::Record(bool success) {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.Now();
  MoveToHalfOpenIfDue(now);
  if (state_ == BreakerState::kHalfOpen) {
    if (probes_in_flight_ > 0) --probes_in_flight_;
    if (success) {
      state_ = BreakerState::kClosed;
      ClearWindow();
    } else {
      state_ = BreakerState::kOpen;
      opened_at_ = now;
    }
    return;
  }
  if (state_ == BreakerState::kOpen) return;  // a call that started before the breaker opened

  const std::int64_t index = BucketIndex(now);
  Bucket& bucket = buckets_[static_cast<std::size_t>(index) % kBuckets];
  if (bucket.index != index) bucket = Bucket{index, 0, 0};
  ++bucket.calls;
  if (!success) ++bucket.errors;
  if (success) return;  // only a failure can push the ratio over the line

  const BreakerWindow window = Sum(index);
  if (window.calls >= options_.calls_min &&
      static_cast<double>(window.failures) >
          options_.error_ratio_max * static_cast<double>(window.calls)) {
    state_ = BreakerState::kOpen;
    opened_at_ = now;
    ClearWindow();
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  if (state_ == BreakerState::kOpen && clock_.Now() >= opened_at_ + options_.open_duration) {
    return BreakerState::kHalfOpen;
  }
  return state_;
}

BreakerWindow CircuitBreaker::window() const {
  std::lock_guard lock(mutex_);
  return Sum(BucketIndex(clock_.Now()));
}

}  // namespace boxoffice
