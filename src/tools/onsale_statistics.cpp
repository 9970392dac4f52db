#include "tools/onsale_statistics.hpp"

#include <algorithm>
#include <cmath>

namespace boxoffice::tools::onsale {
namespace {

std::size_t BucketOf(double value_ms) {
  if (!(value_ms > LatencyHistogram::kMinMs)) return 0;
  const double index =
      std::log(value_ms / LatencyHistogram::kMinMs) / std::log(LatencyHistogram::kRatio);
  return std::min(static_cast<std::size_t>(index), LatencyHistogram::kBuckets - 1);
}

// Pairs among `count` equal values.
std::uint64_t TiedPairs(std::uint64_t count) { return count * (count - 1) / 2; }

// Ties of consecutive equal values in `values` (sorted so that equal values are adjacent).
std::uint64_t Ties(std::span<const double> values) {
  std::uint64_t ties = 0;
  std::uint64_t run = 1;
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (values[i] == values[i - 1]) {
      ++run;
    } else {
      ties += TiedPairs(run);
      run = 1;
    }
  }
  return ties + TiedPairs(run);
}

// Sorts `values` ascending (stably, bottom-up merges into `scratch`) and returns the number of
// inversions: pairs i < j with values[i] > values[j].
std::uint64_t SortCountingInversions(std::vector<double>& values, std::vector<double>& scratch) {
  const std::size_t n = values.size();
  scratch.resize(n);
  std::uint64_t inversions = 0;
  for (std::size_t width = 1; width < n; width *= 2) {
    for (std::size_t low = 0; low < n; low += 2 * width) {
      const std::size_t middle = std::min(low + width, n);
      const std::size_t high = std::min(low + 2 * width, n);
      std::size_t left = low;
      std::size_t right = middle;
      std::size_t out = low;
      while (left < middle && right < high) {
        if (values[right] < values[left]) {
          inversions += middle - left;  // values[right] jumps every remaining left value
          scratch[out++] = values[right++];
        } else {
          scratch[out++] = values[left++];
        }
      }
      while (left < middle) scratch[out++] = values[left++];
      while (right < high) scratch[out++] = values[right++];
    }
    values.swap(scratch);
  }
  return inversions;
}

}  // namespace

double Percentile(std::span<const double> sorted, double q) {
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const std::size_t index =
      rank < 1 ? 0 : std::min(static_cast<std::size_t>(rank) - 1, sorted.size() - 1);
  return sorted[index];
}

Summary Summarize(std::vector<double>& samples) {
  Summary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.count = samples.size();
  summary.p50 = Percentile(samples, 0.50);
  summary.p95 = Percentile(samples, 0.95);
  summary.p99 = Percentile(samples, 0.99);
  summary.max = samples.back();
  return summary;
}

void LatencyHistogram::Add(double value_ms) {
  ++buckets_[BucketOf(value_ms)];
  ++count_;
  max_ = std::max(max_, value_ms);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

std::optional<double> LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return std::nullopt;
  if (q >= 1) return max_;
  const auto rank = static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const double middle = kMinMs * std::pow(kRatio, i + 0.5);
      return std::min(middle, max_);  // never above what was seen
    }
  }
  return max_;
}

Summary LatencyHistogram::Summarize() const {
  Summary summary;
  summary.count = count_;
  if (count_ == 0) return summary;
  summary.p50 = *Percentile(0.50);
  summary.p95 = *Percentile(0.95);
  summary.p99 = *Percentile(0.99);
  summary.max = max_;
  return summary;
}

std::vector<std::uint64_t> BucketCounts(std::span<const double> samples,
                                        std::span<const double> bounds) {
  std::vector<std::uint64_t> counts(bounds.size() + 1, 0);
  for (double sample : samples) {
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), sample) - bounds.begin();
    ++counts[static_cast<std::size_t>(bucket)];
  }
  return counts;
}

std::optional<double> KendallTau(std::vector<std::pair<double, double>>& pairs) {
  const std::uint64_t n = pairs.size();
  if (n < 2) return std::nullopt;
  std::sort(pairs.begin(), pairs.end());
  std::vector<double> firsts(n);
  std::vector<double> seconds(n);
  for (std::size_t i = 0; i < n; ++i) {
    firsts[i] = pairs[i].first;
    seconds[i] = pairs[i].second;
  }
  const std::uint64_t total = TiedPairs(n);
  const std::uint64_t first_ties = Ties(firsts);
  // Pairs tied in both: runs of equal (first, second) in the sorted pairs.
  std::uint64_t joint_ties = 0;
  std::uint64_t run = 1;
  for (std::size_t i = 1; i < n; ++i) {
    if (pairs[i] == pairs[i - 1]) {
      ++run;
    } else {
      joint_ties += TiedPairs(run);
      run = 1;
    }
  }
  joint_ties += TiedPairs(run);
  // Within a run of equal firsts the seconds are ascending, so every inversion left is a pair
  // ordered one way by the firsts and the other way by the seconds: a discordant pair.
  std::vector<double> scratch;
  const std::uint64_t discordant = SortCountingInversions(seconds, scratch);
  const std::uint64_t second_ties = Ties(seconds);  // `seconds` is sorted now
  const double denominator = std::sqrt(static_cast<double>(total - first_ties)) *
                             std::sqrt(static_cast<double>(total - second_ties));
  if (denominator == 0) return std::nullopt;
  // concordant - discordant = (total - first_ties - second_ties + joint_ties) - 2 * discordant
  const double numerator = static_cast<double>(total - first_ties - second_ties + joint_ties) -
                           2.0 * static_cast<double>(discordant);
  return numerator / denominator;
}

}  // namespace boxoffice::tools::onsale
