// A fixed-memory history of numeric samples for charts: each sample is a time stamp and one
// number per column, and the ring keeps the latest `capacity` of them, dropping the oldest. The
// operator console's per-event stats series (api/stats_series.hpp) keep one ring per event; the
// ring itself knows nothing of what the columns mean.
//
// Times only ever increase within a ring (Append refuses a sample that is not after the latest),
// so a reader asking for "everything after t" is answered by a binary search, and a chart never
// sees time run backwards when the wall clock is stepped back.
//
// Thread safety: one mutex per ring. Append copies one sample under it; readers copy what they
// asked for out under it and format afterwards. The longest read is the whole ring (for the
// series route, ~690 KB at an hour of 23 columns, a few hundred microseconds), against one
// writer that appends once a second, so neither waits long for the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace boxoffice {

// A run of consecutive samples, oldest first, laid out as columns (what a chart library takes).
struct SampleWindow {
  std::vector<std::int64_t> t;
  // Column-major: column c holds values [c * t.size(), (c + 1) * t.size()).
  std::vector<double> values;

  std::span<const double> Column(std::size_t column) const {
    return std::span<const double>(values).subspan(column * t.size(), t.size());
  }
};

// One sample as it was appended.
struct SampleRow {
  std::int64_t t = 0;
  std::vector<double> values;  // one per column
};

class SampleRing {
 public:
  // Allocates the whole ring at once: `columns` and `capacity` must both be at least 1. The
  // storage is left uninitialised, so its pages are touched only as samples land there.
  SampleRing(std::size_t columns, std::size_t capacity);
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  std::size_t columns() const { return columns_; }
  std::size_t capacity() const { return capacity_; }

  // Appends the sample taken at `t`, one value per column (`values.size()` must be columns());
  // NaN stands for a value that was not there. When the ring is full the oldest sample goes.
  // Returns false and keeps nothing when `t` is not after the latest sample's time.
  bool Append(std::int64_t t, std::span<const double> values);

  // Every sample held with a time after `since`, oldest first.
  SampleWindow Since(std::int64_t since) const;
  // The latest sample, when there is one and its time is after `since`.
  std::optional<SampleRow> LatestAfter(std::int64_t since) const;
  std::size_t size() const;

 private:
  // The physical slot of the i-th oldest sample held; mutex_ must be held.
  std::size_t Slot(std::size_t i) const { return (oldest_ + i) % capacity_; }

  const std::size_t columns_;
  const std::size_t capacity_;
  // Row-major: slot s holds times_[s] and values_[s * columns_ ...]. Written only under mutex_.
  std::unique_ptr<std::int64_t[]> times_;
  std::unique_ptr<double[]> values_;
  mutable std::mutex mutex_;
  std::size_t oldest_ = 0;  // guarded by mutex_: the slot of the oldest sample
  std::size_t size_ = 0;    // guarded by mutex_: samples held, at most capacity_
};

}  // namespace boxoffice
