// The simulated population of `boxoffice botsim` (botsim.hpp): who each agent is — kind, headers,
// client address, device id, the telemetry its page posts, the rhythm of its requests — drawn up
// front from a seed, so that a run can be repeated and a training run and an evaluation run see
// different but comparable traffic. No I/O here; botsim.cpp plays the plans against a server.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::tools::botsim {

enum class Kind { kHuman, kNaive, kSpoofing, kFastAddress, kRotating, kHeadless };
inline constexpr std::array kKinds = {Kind::kHuman,       Kind::kNaive,    Kind::kSpoofing,
                                      Kind::kFastAddress, Kind::kRotating, Kind::kHeadless};

std::string_view KindName(Kind kind);
// The kind named `name` (as KindName writes it); nullopt for an unknown name.
std::optional<Kind> ParseKind(std::string_view name);

struct TelemetryPlan {
  std::int64_t pointer_events = 0;
  std::int64_t key_events = 0;
  std::optional<std::int64_t> first_interaction_ms;
};

// How an agent spaces its requests.
struct Rhythm {
  enum class Shape { kLogNormal, kNormal } shape = Shape::kNormal;
  double median_s = 1;   // log-normal: the median; normal: the mean
  double spread = 0;     // log-normal: sigma; normal: coefficient of variation
  double min_s = 0.001;  // before scaling
  double max_s = 30;     // a longer pause is another visit; it also bounds the run's length
};

struct AgentPlan {
  Kind kind = Kind::kHuman;
  std::size_t index = 0;
  std::string address;
  std::string device_id;  // empty: no X-Device-Id
  std::optional<std::string> user_agent;
  std::optional<std::string> accept_language;
  std::optional<std::string> sec_ch_ua, sec_ch_ua_mobile, sec_ch_ua_platform;
  std::optional<TelemetryPlan> telemetry;
  Rhythm rhythm;
  int reads_before_join = 3;
  bool solves_challenges = false;
  int seats = 2;
  std::uint64_t seed = 0;
};

// `humans` fans and `bots` of each bot kind, shuffled into the order they start (kinds
// interleaved); `index` is the position, `seed` each agent's own dice. The same arguments give
// the same population. With `bot_kinds` only those kinds of bot are kept: each kept agent is the
// one the whole population has (same headers, address, seed), so a run of one kind repeats that
// kind's part of a full run.
std::vector<AgentPlan> PlanAgents(unsigned humans, unsigned bots, std::uint64_t seed);
std::vector<AgentPlan> PlanAgents(unsigned humans, unsigned bots, std::uint64_t seed,
                                  std::span<const Kind> bot_kinds);

}  // namespace boxoffice::tools::botsim
