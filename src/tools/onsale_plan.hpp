// The plan of an `onsale` run (tools/onsale.hpp), drawn without I/O: when each fan arrives (the
// arrival curve: a pre-queue before the on-sale opens, a spike at the opening, a decaying tail)
// and each fan's dice (how many seats, whether it streams, pays with a declined card first,
// abandons and where, which browser it is, its address). Everything is a pure function of the
// seed and the fan's number, so a million fans cost no memory until they arrive, and the same
// seed plans the same population.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace boxoffice::tools::onsale {

// ---------------------------------------------------------------------------------------------
// Arrivals.

enum class ArrivalShape {
  kSpike,    // most fans in a spike that decays from the opening, the rest in a decaying tail
  kUniform,  // evenly over the spike and the tail
  kRamp,     // rising linearly over the spike to a peak, then falling linearly over the tail
};

std::string_view ArrivalShapeName(ArrivalShape shape);
std::optional<ArrivalShape> ParseArrivalShape(std::string_view name);

// Under kSpike, the share of the fans after the pre-queue who arrive within `spike_s`.
inline constexpr double kSpikeShare = 0.75;

struct ArrivalCurve {
  std::uint64_t fans = 0;
  double prequeue_share = 0.2;  // of all fans, arriving before the opening
  double open_s = 10;           // the on-sale opens this long after the run starts (may be 0)
  double spike_s = 10;
  double tail_s = 30;
  ArrivalShape shape = ArrivalShape::kSpike;
};

// Fan `index` (0-based) arrives at At(index) seconds after the run starts; fans arrive in index
// order. Times are the curve's quantiles at (index + 0.5) / count, so the counts per phase are
// exact and the shape holds for any number of fans.
class ArrivalSchedule {
 public:
  explicit ArrivalSchedule(const ArrivalCurve& curve);

  double At(std::uint64_t index) const;
  // Fans who arrive before the opening (none when it opens at once).
  std::uint64_t prequeue_fans() const { return prequeue_fans_; }
  std::uint64_t fans() const { return curve_.fans; }
  double open_s() const { return curve_.open_s; }
  // When the spike ends and the tail begins, and when the last fan may arrive.
  double spike_end_s() const { return curve_.open_s + curve_.spike_s; }
  double end_s() const { return curve_.open_s + curve_.spike_s + curve_.tail_s; }

 private:
  // Offset from the opening of the quantile `u` in [0, 1) of the fans after the pre-queue.
  double AfterOpening(double u) const;

  ArrivalCurve curve_;
  std::uint64_t prequeue_fans_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Each fan's dice.

// Where a fan who abandons does so. Each step is drawn independently with the abandon share;
// the first that comes up is where the fan leaves.
enum class AbandonAt : std::uint8_t {
  kNever,
  kEventPage,  // reads the event and goes (no request more)
  kQueue,      // leaves the queue (DELETE .../queue) after waiting `patience_s`
  kAdmitted,   // admitted, never holds (the access goes idle)
  kHold,       // holds, then releases the hold (DELETE /v1/holds/{id})
  kPayment,    // holds, never pays (the hold expires)
};

std::string_view AbandonAtName(AbandonAt at);

struct DiceShares {
  double stream = 0.05;
  double decline = 0.05;
  double abandon = 0.05;  // per step
  int per_order = 6;      // the event's limits.per_order: no fan asks for more
  std::uint32_t personas = 1;
};

struct FanDice {
  int quantity = 2;  // seats asked for, 1..per_order, mean near 3
  bool streams = false;
  bool declines_first = false;  // pays with tok_declined, then with tok_visa
  AbandonAt abandon = AbandonAt::kNever;
  double patience_s = 0;  // kQueue: how long it waits before leaving
  std::uint32_t persona = 0;
  std::uint64_t seed = 0;  // the fan's own dice during the run (think times, jitter)
};

FanDice RollFan(std::uint64_t seed, std::uint64_t index, const DiceShares& shares);

// The quantity for a uniform draw `u` in [0, 1): 1..6 with weights 10/35/20/25/5/5 (mean 2.95),
// truncated to `per_order` (1..8).
int DrawQuantity(double u, int per_order);
// The mean DrawQuantity gives for `per_order`.
double QuantityMean(int per_order);

// The client address fan `index` speaks from: 10.a.b.h, consecutive fans in different /24s
// (65,536 of them) so that per-prefix limits see what the internet would show them.
std::string FanAddress(std::uint64_t index);
// The device id its page sends (X-Device-Id): one per fan and seed.
std::string FanDeviceId(std::uint64_t seed, std::uint64_t index);

// Bots spread evenly over the arrival order: fan `index` of `fans` is a bot when the running
// count floor(i * bots / fans) steps up at it. Returns the bot's ordinal, or nullopt.
std::optional<std::uint64_t> BotOrdinal(std::uint64_t index, std::uint64_t fans,
                                        std::uint64_t bots);

// ---------------------------------------------------------------------------------------------
// Small deterministic randomness: SplitMix64, 8 bytes of state per fan.

std::uint64_t Mix(std::uint64_t value);
// A uniform double in [0, 1) from the next state of `state`.
double NextUniform(std::uint64_t& state);
// A log-normal pause with `median_s` and `sigma`, clamped to [min_s, max_s].
double ThinkS(std::uint64_t& state, double median_s, double sigma, double min_s, double max_s);

}  // namespace boxoffice::tools::onsale
