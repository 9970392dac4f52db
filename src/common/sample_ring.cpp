#include "common/sample_ring.hpp"

#include <algorithm>
#include <cstring>
#include <ranges>

#include "common/check.hpp"

namespace boxoffice {

SampleRing::SampleRing(std::size_t columns, std::size_t capacity)
    : columns_(columns),
      capacity_(capacity),
      times_(new std::int64_t[capacity]),
      values_(new double[capacity * columns]) {
  BOXOFFICE_CHECK(columns >= 1 && capacity >= 1, "a sample ring holds at least one number");
}

bool SampleRing::Append(std::int64_t t, std::span<const double> values) {
  BOXOFFICE_CHECK(values.size() == columns_, "a sample has one value per column");
  std::lock_guard lock(mutex_);
  if (size_ > 0 && t <= times_[Slot(size_ - 1)]) return false;
  std::size_t slot;
  if (size_ < capacity_) {
    slot = Slot(size_);
    ++size_;
  } else {
    slot = oldest_;
    oldest_ = (oldest_ + 1) % capacity_;
  }
  times_[slot] = t;
  std::memcpy(&values_[slot * columns_], values.data(), columns_ * sizeof(double));
  return true;
}

SampleWindow SampleRing::Since(std::int64_t since) const {
  SampleWindow window;
  std::lock_guard lock(mutex_);
  // Times increase from the oldest sample to the latest: the first one after `since` is found by
  // bisection over the logical order, whatever the wrap.
  const auto logical = std::views::iota(std::size_t{0}, size_);
  const std::size_t first = *std::ranges::partition_point(
      logical, [&](std::size_t i) { return times_[Slot(i)] <= since; });
  const std::size_t count = size_ - first;
  window.t.resize(count);
  window.values.resize(count * columns_);
  for (std::size_t row = 0; row < count; ++row) {
    const std::size_t slot = Slot(first + row);
    window.t[row] = times_[slot];
    const double* sample = &values_[slot * columns_];
    for (std::size_t column = 0; column < columns_; ++column) {
      window.values[column * count + row] = sample[column];
    }
  }
  return window;
}

std::optional<SampleRow> SampleRing::LatestAfter(std::int64_t since) const {
  std::lock_guard lock(mutex_);
  if (size_ == 0) return std::nullopt;
  const std::size_t slot = Slot(size_ - 1);
  if (times_[slot] <= since) return std::nullopt;
  const double* sample = &values_[slot * columns_];
  return SampleRow{times_[slot], std::vector<double>(sample, sample + columns_)};
}

std::size_t SampleRing::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace boxoffice
