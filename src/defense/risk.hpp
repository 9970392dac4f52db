// The risk score: how likely a request comes from a bot, from features of the request and of
// what its client did before, weighed by a logistic model, score = 1 / (1 + e^−(bias + Σ wᵢ·xᵢ)).
// Thresholds on the score decide allow / challenge / block (docs/defense.md).
//
// Features, each in [0, 1]:
// - the user agent's class: an automation library (curl, python-requests, Go-http-client,
//   HeadlessChrome...), missing, or something that is not a browser;
// - header consistency: no Accept-Language (every browser sends one), Sec-CH-UA client hints that
//   contradict the user agent (brand version, platform, mobile), or a Chromium browser sending
//   none;
// - timing regularity of the session's requests (a script's fixed sleep has a low coefficient of
//   variation; people do not);
// - velocity of the client's address and network prefix: how much of its rate-limit burst on the
//   route class it has used (the limiter's state, so it costs no lookup of its own);
// - sessions seen on the client's device id (`X-Device-Id`);
// - behaviour telemetry the page posted for the session (`POST /v1/telemetry`): none at all, no
//   pointer or key event, or a first interaction faster than a person;
// - a browser's user agent whose page posted no telemetry: a browser runs the page's script, so
//   a client that says it is one and never ran it copied the headers (an API client that says
//   what it is does not have this feature; that is the difference this one draws).
//
// The model (weights, bias, thresholds, a version) is JSON: a default is compiled in
// (risk-model.json next to this file) and `<data-dir>/risk-model.json`, which `boxoffice botsim
// --train` writes, replaces it. The per-client state lives in fixed-size tables (RiskTracker), so
// memory is bounded whatever the traffic; a key pushed out starts afresh.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

enum class UserAgentClass { kBrowser, kAutomation, kOther, kMissing };
UserAgentClass ClassifyUserAgent(std::optional<std::string_view> user_agent);

// The request headers the score reads; absent headers are nullopt.
struct RequestSignals {
  std::optional<std::string_view> user_agent;
  std::optional<std::string_view> accept_language;
  std::optional<std::string_view> sec_ch_ua;
  std::optional<std::string_view> sec_ch_ua_mobile;
  std::optional<std::string_view> sec_ch_ua_platform;
  std::string_view device_id;  // X-Device-Id, empty when absent
};

enum RiskFeature : std::size_t {
  kUaAutomation,
  kUaMissing,
  kUaOther,
  kAcceptLanguageMissing,
  kClientHintsInconsistent,
  kClientHintsMissing,
  kTimingRegular,
  kAddressVelocity,
  kPrefixVelocity,
  kDeviceSessions,
  kTelemetryMissing,
  kInteractionMissing,
  kInteractionInstant,
  kBrowserWithoutTelemetry,
  kRiskFeatureCount,
};
std::string_view RiskFeatureName(std::size_t feature);
using RiskFeatures = std::array<double, kRiskFeatureCount>;

// The features that need no state: user agent class and header consistency.
void ExtractHeaderFeatures(const RequestSignals& signals, RiskFeatures& features);
// The features made of others, once both the header features and the client's state (the
// tracker's) are in: `browser_without_telemetry`.
void CombineFeatures(RiskFeatures& features);

enum class RiskAction { kAllow, kChallenge, kBlock };
std::string_view RiskActionName(RiskAction action);

class RiskModel {
 public:
  // {"version": "...", "bias": b, "weights": {"ua_automation": w, ...},
  //  "thresholds": {"challenge": c, "block": k}} with 0 < c < k <= 1. A feature left out weighs 0;
  // an unknown feature name is an error (the model was trained for other features).
  static Result<RiskModel> Parse(std::string_view json);
  // The compiled-in default (src/defense/risk-model.json).
  static const RiskModel& Default();

  double Score(const RiskFeatures& features) const;
  RiskAction Decide(double score) const;
  // The features that pushed the score up most, "name=weight·value,..." (at most three), for logs.
  std::string Explain(const RiskFeatures& features) const;

  const std::string& version() const { return version_; }
  double bias() const { return bias_; }
  const std::array<double, kRiskFeatureCount>& weights() const { return weights_; }
  double challenge_threshold() const { return challenge_threshold_; }
  double block_threshold() const { return block_threshold_; }

 private:
  std::string version_;
  double bias_ = 0;
  std::array<double, kRiskFeatureCount> weights_{};
  double challenge_threshold_ = 0.5;
  double block_threshold_ = 0.99;
};

// Reads `path` when it exists, else the compiled-in default. An unreadable or invalid file is an
// error: a model the operator put there must not be silently ignored.
Result<RiskModel> LoadRiskModel(const std::string& path);

struct Telemetry {
  std::uint32_t pointer_events = 0;
  std::uint32_t key_events = 0;
  std::optional<std::uint32_t> first_interaction_ms;  // none: the visitor has not interacted
};

// What one request contributes to, and reads from, the per-client state.
struct ObservedRequest {
  std::string_view session_id = {};
  std::string_view device_id = {};
  bool timed = true;  // false for requests a page sends on a timer (queue polls)
  // Whether the caller will score this request. An untimed, unscored request (a poll) only
  // feeds the velocities: its session state would change nothing.
  bool scored = true;
};

// Per-client state for the timing, device and telemetry features, in fixed-size tables keyed by
// SipHash of the session or device. Safe from many threads.
class RiskTracker {
 public:
  // `slots` per table, rounded up to a power of two (at least 4).
  explicit RiskTracker(std::size_t slots);
  ~RiskTracker();

  // The request's table keys, hashed once. Prefetch starts loading their entries, so that the
  // cache misses of a large table overlap with other work (the limiter's) instead of adding up.
  struct Keys {
    std::uint64_t session = 0;  // 0: no session state to touch
    std::uint64_t device = 0;
  };
  Keys KeysFor(const ObservedRequest& request) const;
  void Prefetch(const Keys& keys) const;

  // Records the request and fills the timing, device and telemetry features.
  void Observe(const ObservedRequest& request, const Keys& keys, TimePoint now,
               RiskFeatures& features);
  void Observe(const ObservedRequest& request, TimePoint now, RiskFeatures& features) {
    Observe(request, KeysFor(request), now, features);
  }
  void RecordTelemetry(std::string_view session_id, const Telemetry& telemetry, TimePoint now);

 private:
  struct Tables;
  std::unique_ptr<Tables> tables_;
};

}  // namespace boxoffice
