#include "tools/onsale_plan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

namespace boxoffice::tools::onsale {
namespace {

// An exponential decay over an interval: this many time constants fit in it, so its end has
// about 5% of the density of its start.
constexpr double kDecayConstants = 3;
// Seat quantities 1..8 as fans ask for them (tickets for oneself, a couple, a family).
constexpr std::array<double, 8> kQuantityWeights = {0.10, 0.35, 0.20, 0.25, 0.05, 0.05, 0, 0};
// Pre-queue fans arrive from this share of the pre-queue window on, not at the run's first
// instant: a page opened the second the run starts is not a fan's way.
constexpr double kPrequeueStartShare = 0.05;
// A fan who leaves the queue waits this long first (uniform).
constexpr double kPatienceMinS = 5;
constexpr double kPatienceMaxS = 120;

// The quantile `u` of an exponential decay truncated to [0, length).
double DecayQuantile(double u, double length) {
  if (length <= 0) return 0;
  const double rate = kDecayConstants / length;
  return -std::log1p(-u * (1 - std::exp(-rate * length))) / rate;
}

// Independent streams of dice per fan, so that adding a die never changes the others.
enum Die : std::uint64_t {
  kDieQuantity = 1,
  kDieStream,
  kDieDecline,
  kDieAbandon,
  kDiePatience = kDieAbandon + 8,
  kDiePersona,
  kDieSeed,
  kDieDevice,
};

double Uniform(std::uint64_t seed, std::uint64_t index, std::uint64_t die) {
  return static_cast<double>(Mix(Mix(seed ^ Mix(index)) + die) >> 11) * 0x1.0p-53;
}

}  // namespace

std::string_view ArrivalShapeName(ArrivalShape shape) {
  switch (shape) {
    case ArrivalShape::kSpike:
      return "spike";
    case ArrivalShape::kUniform:
      return "uniform";
    case ArrivalShape::kRamp:
      return "ramp";
  }
  return "spike";
}

std::optional<ArrivalShape> ParseArrivalShape(std::string_view name) {
  for (ArrivalShape shape : {ArrivalShape::kSpike, ArrivalShape::kUniform, ArrivalShape::kRamp}) {
    if (ArrivalShapeName(shape) == name) return shape;
  }
  return std::nullopt;
}

ArrivalSchedule::ArrivalSchedule(const ArrivalCurve& curve) : curve_(curve) {
  curve_.spike_s = std::max(0.0, curve_.spike_s);
  curve_.tail_s = std::max(0.0, curve_.tail_s);
  curve_.open_s = std::max(0.0, curve_.open_s);
  const double share = std::clamp(curve_.prequeue_share, 0.0, 1.0);
  // Nobody can arrive before an on-sale that is already open.
  prequeue_fans_ =
      curve_.open_s > 0 ? static_cast<std::uint64_t>(std::llround(share * curve_.fans)) : 0;
}

double ArrivalSchedule::At(std::uint64_t index) const {
  if (index < prequeue_fans_) {
    const double u = (index + 0.5) / prequeue_fans_;
    const double from = kPrequeueStartShare * curve_.open_s;
    return from + u * (curve_.open_s - from);
  }
  const std::uint64_t after = curve_.fans - prequeue_fans_;
  const double u = (index - prequeue_fans_ + 0.5) / after;
  return curve_.open_s + AfterOpening(u);
}

double ArrivalSchedule::AfterOpening(double u) const {
  const double spike = curve_.spike_s;
  const double tail = curve_.tail_s;
  switch (curve_.shape) {
    case ArrivalShape::kUniform:
      return u * (spike + tail);
    case ArrivalShape::kRamp: {
      // A triangle: density rises over the spike to its peak at spike_s, falls over the tail.
      if (spike + tail <= 0) return 0;
      const double rise_share = spike / (spike + tail);
      if (u < rise_share) return spike * std::sqrt(u / rise_share);
      const double v = (u - rise_share) / (1 - rise_share);
      return spike + tail * (1 - std::sqrt(1 - v));
    }
    case ArrivalShape::kSpike: {
      const double spike_share = tail > 0 ? kSpikeShare : 1.0;
      if (u < spike_share) return DecayQuantile(u / spike_share, spike);
      return spike + DecayQuantile((u - spike_share) / (1 - spike_share), tail);
    }
  }
  return 0;
}

std::string_view AbandonAtName(AbandonAt at) {
  switch (at) {
    case AbandonAt::kNever:
      return "never";
    case AbandonAt::kEventPage:
      return "event_page";
    case AbandonAt::kQueue:
      return "queue";
    case AbandonAt::kAdmitted:
      return "admitted";
    case AbandonAt::kHold:
      return "hold";
    case AbandonAt::kPayment:
      return "payment";
  }
  return "never";
}

FanDice RollFan(std::uint64_t seed, std::uint64_t index, const DiceShares& shares) {
  FanDice dice;
  dice.quantity = DrawQuantity(Uniform(seed, index, kDieQuantity), shares.per_order);
  dice.streams = Uniform(seed, index, kDieStream) < shares.stream;
  dice.declines_first = Uniform(seed, index, kDieDecline) < shares.decline;
  constexpr AbandonAt kSteps[] = {AbandonAt::kEventPage, AbandonAt::kQueue, AbandonAt::kAdmitted,
                                  AbandonAt::kHold, AbandonAt::kPayment};
  for (std::size_t step = 0; step < std::size(kSteps); ++step) {
    if (Uniform(seed, index, kDieAbandon + step) < shares.abandon) {
      dice.abandon = kSteps[step];
      break;
    }
  }
  dice.patience_s =
      kPatienceMinS + Uniform(seed, index, kDiePatience) * (kPatienceMaxS - kPatienceMinS);
  dice.persona = static_cast<std::uint32_t>(Uniform(seed, index, kDiePersona) *
                                            std::max<std::uint32_t>(1, shares.personas));
  dice.seed = Mix(Mix(seed + kDieSeed) ^ index);
  return dice;
}

int DrawQuantity(double u, int per_order) {
  const int max = std::clamp(per_order, 1, static_cast<int>(kQuantityWeights.size()));
  double total = 0;
  for (int q = 1; q <= max; ++q) total += kQuantityWeights[q - 1];
  double below = 0;
  for (int q = 1; q <= max; ++q) {
    below += kQuantityWeights[q - 1] / total;
    if (u < below) return q;
  }
  return max;
}

double QuantityMean(int per_order) {
  const int max = std::clamp(per_order, 1, static_cast<int>(kQuantityWeights.size()));
  double total = 0;
  double sum = 0;
  for (int q = 1; q <= max; ++q) {
    total += kQuantityWeights[q - 1];
    sum += q * kQuantityWeights[q - 1];
  }
  return sum / total;
}

std::string FanAddress(std::uint64_t index) {
  // 40503 is odd, so multiplying by it permutes the 65,536 prefixes: neighbours in arrival
  // order land far apart, as strangers' addresses do.
  const std::uint64_t prefix = (index * 40503) & 0xffff;
  const std::uint64_t host = 1 + (index >> 16) % 254;
  return "10." + std::to_string(prefix >> 8) + "." + std::to_string(prefix & 0xff) + "." +
         std::to_string(host);
}

std::string FanDeviceId(std::uint64_t seed, std::uint64_t index) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = Mix(Mix(seed + kDieDevice) ^ index);
  std::string id = "dev-";
  for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 15];
  return id;
}

std::optional<std::uint64_t> BotOrdinal(std::uint64_t index, std::uint64_t fans,
                                        std::uint64_t bots) {
  if (bots == 0 || fans == 0 || index >= fans) return std::nullopt;
  // 128-bit products: a million fans times a million bots overflows 64 bits only far beyond
  // the bounds, but the cost is nothing.
  const auto before = static_cast<std::uint64_t>((unsigned __int128)index * bots / fans);
  const auto after = static_cast<std::uint64_t>((unsigned __int128)(index + 1) * bots / fans);
  if (after == before) return std::nullopt;
  return before;
}

std::uint64_t Mix(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

double NextUniform(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t value = state;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  value ^= value >> 31;
  return static_cast<double>(value >> 11) * 0x1.0p-53;
}

double ThinkS(std::uint64_t& state, double median_s, double sigma, double min_s, double max_s) {
  // Box-Muller from two uniforms; the first is kept away from 0 for the logarithm.
  const double u1 = std::max(NextUniform(state), 1e-12);
  const double u2 = NextUniform(state);
  const double normal = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  return std::clamp(median_s * std::exp(sigma * normal), min_s, max_s);
}

}  // namespace boxoffice::tools::onsale
