#include "defense/risk.hpp"

#include <algorithm>
#include <bit>
#include <boost/json/parse.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "defense/gcra.hpp"

namespace boxoffice {

std::string_view DefaultRiskModelJson();  // generated from risk-model.json (CMakeLists.txt)

namespace {

namespace json = boost::json;

constexpr std::string_view kFeatureNames[kRiskFeatureCount] = {
    "ua_automation",
    "ua_missing",
    "ua_other",
    "accept_language_missing",
    "client_hints_inconsistent",
    "client_hints_missing",
    "timing_regular",
    "address_velocity",
    "prefix_velocity",
    "device_sessions",
    "telemetry_missing",
    "interaction_missing",
    "interaction_instant",
    "browser_without_telemetry",
};

// Lower-case tokens of HTTP libraries, headless browsers and crawlers, searched in a user agent
// that does not claim to be a browser.
constexpr std::string_view kAutomationTokens[] = {
    "curl/",     "wget/",          "python-requests", "python-urllib", "httpx",
    "aiohttp",   "go-http-client", "java/",           "okhttp",        "node-fetch",
    "axios/",    "undici",         "libwww-perl",     "scrapy",        "httpclient",
    "phantomjs", "headlesschrome", "postman",         "bot",           "spider",
    "crawler",
};
// Tokens that give automation away inside a "Mozilla/5.0 (...)" user agent, as they are written.
// Kept short: this list is searched on every scored request from a browser.
constexpr std::string_view kBrowserAutomationTokens[] = {
    "HeadlessChrome", "PhantomJS", "Playwright", "Puppeteer", "bot", "Bot", "spider", "crawler",
};
constexpr std::size_t kUserAgentScanMaxChars = 512;

// Timing regularity needs this many gaps before it says anything.
constexpr std::uint32_t kTimingGapsMin = 4;
constexpr double kTimingAlpha = 0.25;  // EWMA weight of the newest gap
// A coefficient of variation at or above this is human (feature 0); 0 is a metronome (feature 1).
constexpr double kHumanVariation = 0.5;
constexpr std::size_t kDeviceSessionsMax = 8;
constexpr double kDeviceSessionsFull = 5;  // sessions on one device that count as feature 1
// Faster than this from page load to first pointer or key event is not a person.
constexpr std::uint32_t kInstantInteractionMs = 150;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The major version after "Chrome/" in a user agent, 0 when there is none.
int ChromeMajor(std::string_view user_agent) {
  const std::size_t at = user_agent.find("Chrome/");
  if (at == std::string_view::npos) return 0;
  const std::string_view rest = user_agent.substr(at + 7);
  int major = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), major);
  return major;
}

// Whether a Sec-CH-UA list (`"Chromium";v="118", "Google Chrome";v="118", ...`) names `major`.
bool HintsNameVersion(std::string_view sec_ch_ua, int major) {
  const std::string needle = "v=\"" + std::to_string(major) + "\"";
  return Contains(sec_ch_ua, needle);
}

// Whether the platform hint agrees with the user agent's operating system.
bool PlatformMatches(std::string_view platform, std::string_view user_agent) {
  if (!platform.empty() && platform.front() == '"') platform.remove_prefix(1);
  if (!platform.empty() && platform.back() == '"') platform.remove_suffix(1);
  if (platform == "Windows") return Contains(user_agent, "Windows");
  if (platform == "macOS")
    return Contains(user_agent, "Macintosh") || Contains(user_agent, "Mac OS");
  if (platform == "Android") return Contains(user_agent, "Android");
  if (platform == "Linux") return Contains(user_agent, "Linux") && !Contains(user_agent, "Android");
  if (platform == "Chrome OS" || platform == "ChromeOS") return Contains(user_agent, "CrOS");
  if (platform == "iOS") return Contains(user_agent, "iPhone") || Contains(user_agent, "iPad");
  return true;  // "Unknown", "Fuchsia", newer names: no claim to check
}

// A small fixed-size table of per-key state: `slots` entries in 4-way buckets, striped locks,
// and the least recently touched entry of a full bucket evicted.
template <typename Value>
class KeyedTable {
 public:
  explicit KeyedTable(std::size_t slots)
      : slot_count_(std::bit_ceil(std::max<std::size_t>(slots, kWays))),
        bucket_mask_(slot_count_ / kWays - 1),
        slots_(new Slot[slot_count_]) {}

  void Prefetch(std::uint64_t key) const {
    __builtin_prefetch(&slots_[(static_cast<std::size_t>(key) & bucket_mask_) * kWays]);
  }

  // Runs fn(value, fresh) under the bucket's lock and returns what it returns.
  template <typename Fn>
  auto With(std::uint64_t key, std::int64_t now_ns, Fn&& fn) {
    const std::size_t bucket = static_cast<std::size_t>(key) & bucket_mask_;
    Slot* ways = &slots_[bucket * kWays];
    std::lock_guard lock(locks_[bucket % kLockStripes]);
    Slot* slot = nullptr;
    for (std::size_t i = 0; i < kWays && slot == nullptr; ++i) {
      if (ways[i].key == key) slot = &ways[i];
    }
    bool fresh = false;
    if (slot == nullptr) {
      slot = std::min_element(ways, ways + kWays, [](const Slot& a, const Slot& b) {
        return a.touched_ns < b.touched_ns;
      });
      *slot = Slot{key, now_ns, Value{}};
      fresh = true;
    }
    slot->touched_ns = std::max(slot->touched_ns, now_ns);
    return fn(slot->value, fresh);
  }

 private:
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kLockStripes = 128;
  struct Slot {
    std::uint64_t key = 0;
    std::int64_t touched_ns = 0;
    Value value{};
  };
  std::size_t slot_count_;
  std::size_t bucket_mask_;
  std::unique_ptr<Slot[]> slots_;
  std::array<std::mutex, kLockStripes> locks_;
};

struct SessionState {
  std::int64_t last_ns = 0;
  double gap_mean_s = 0;
  double gap_square_mean_s2 = 0;
  std::uint32_t gaps = 0;
  bool has_telemetry = false;
  Telemetry telemetry;
};

struct DeviceState {
  std::array<std::uint32_t, kDeviceSessionsMax> sessions{};
  std::uint32_t count = 0;
};

double Ramp(double value, double low, double high) {
  return std::clamp((value - low) / (high - low), 0.0, 1.0);
}

}  // namespace

UserAgentClass ClassifyUserAgent(std::optional<std::string_view> user_agent) {
  if (!user_agent || user_agent->empty()) return UserAgentClass::kMissing;
  if (user_agent->starts_with("Mozilla/5.0 (")) {
    for (std::string_view token : kBrowserAutomationTokens) {
      if (Contains(*user_agent, token)) return UserAgentClass::kAutomation;
    }
    return UserAgentClass::kBrowser;
  }
  // Case-insensitive search on a bounded lower-case copy.
  char lower[kUserAgentScanMaxChars];
  const std::size_t length = std::min(user_agent->size(), kUserAgentScanMaxChars);
  for (std::size_t i = 0; i < length; ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>((*user_agent)[i])));
  }
  const std::string_view text(lower, length);
  for (std::string_view token : kAutomationTokens) {
    if (Contains(text, token)) return UserAgentClass::kAutomation;
  }
  return UserAgentClass::kOther;
}

std::string_view RiskFeatureName(std::size_t feature) {
  return feature < kRiskFeatureCount ? kFeatureNames[feature] : "unknown";
}

std::string_view RiskActionName(RiskAction action) {
  switch (action) {
    case RiskAction::kAllow:
      return "allow";
    case RiskAction::kChallenge:
      return "challenge";
    case RiskAction::kBlock:
      return "block";
  }
  return "allow";
}

void ExtractHeaderFeatures(const RequestSignals& signals, RiskFeatures& features) {
  const UserAgentClass ua_class = ClassifyUserAgent(signals.user_agent);
  features[kUaAutomation] = ua_class == UserAgentClass::kAutomation;
  features[kUaMissing] = ua_class == UserAgentClass::kMissing;
  features[kUaOther] = ua_class == UserAgentClass::kOther;
  features[kAcceptLanguageMissing] =
      !signals.accept_language || signals.accept_language->empty() ? 1.0 : 0.0;

  const std::string_view user_agent = signals.user_agent.value_or("");
  const int chrome_major = ua_class == UserAgentClass::kBrowser ? ChromeMajor(user_agent) : 0;
  bool inconsistent = false;
  if (signals.sec_ch_ua) {
    // Only Chromium sends client hints; they must name the user agent's own major version.
    inconsistent = chrome_major == 0 || Contains(*signals.sec_ch_ua, "HeadlessChrome") ||
                   !HintsNameVersion(*signals.sec_ch_ua, chrome_major);
  }
  if (signals.sec_ch_ua_mobile && ua_class == UserAgentClass::kBrowser) {
    const bool says_mobile = *signals.sec_ch_ua_mobile == "?1";
    inconsistent |= says_mobile != Contains(user_agent, "Mobile");
  }
  if (signals.sec_ch_ua_platform && ua_class == UserAgentClass::kBrowser) {
    inconsistent |= !PlatformMatches(*signals.sec_ch_ua_platform, user_agent);
  }
  features[kClientHintsInconsistent] = inconsistent;
  // Chromium has sent Sec-CH-UA since version 89 (on secure origins, which a deployment behind
  // TLS is): a Chrome user agent without it is likely a script wearing Chrome's name.
  features[kClientHintsMissing] = chrome_major >= 90 && !signals.sec_ch_ua;
}

void CombineFeatures(RiskFeatures& features) {
  const bool browser =
      features[kUaAutomation] == 0 && features[kUaMissing] == 0 && features[kUaOther] == 0;
  features[kBrowserWithoutTelemetry] = browser ? features[kTelemetryMissing] : 0.0;
}

Result<RiskModel> RiskModel::Parse(std::string_view text) {
  auto invalid = [](std::string message) {
    return Error::Make(ErrorKind::kUnprocessable, "invalid_risk_model", std::move(message));
  };
  std::error_code parse_error;
  const json::value parsed = json::parse(text, parse_error);
  const json::object* object = parse_error ? nullptr : parsed.if_object();
  if (object == nullptr) return invalid("The risk model is not a JSON object.");
  auto number = [](const json::value* value) -> std::optional<double> {
    if (value == nullptr || !value->is_number()) return std::nullopt;
    const double out = value->to_number<double>();
    return std::isfinite(out) ? std::optional<double>(out) : std::nullopt;
  };
  RiskModel model;
  const json::value* version = object->if_contains("version");
  if (version == nullptr || !version->is_string() || version->get_string().empty()) {
    return invalid("The risk model needs a 'version' string.");
  }
  model.version_ = std::string(version->get_string());
  const std::optional<double> bias = number(object->if_contains("bias"));
  if (!bias) return invalid("The risk model needs a numeric 'bias'.");
  model.bias_ = *bias;
  const json::value* weights = object->if_contains("weights");
  if (weights == nullptr || !weights->is_object()) {
    return invalid("The risk model needs a 'weights' object.");
  }
  for (const auto& [name, value] : weights->get_object()) {
    const auto* found = std::find(std::begin(kFeatureNames), std::end(kFeatureNames), name);
    if (found == std::end(kFeatureNames)) {
      return invalid("The risk model weighs an unknown feature '" + std::string(name) + "'.");
    }
    const std::optional<double> weight = number(&value);
    if (!weight) return invalid("The weight of '" + std::string(name) + "' is not a number.");
    model.weights_[static_cast<std::size_t>(found - std::begin(kFeatureNames))] = *weight;
  }
  const json::value* thresholds = object->if_contains("thresholds");
  const json::object* limits = thresholds ? thresholds->if_object() : nullptr;
  const std::optional<double> challenge =
      limits ? number(limits->if_contains("challenge")) : std::nullopt;
  const std::optional<double> block = limits ? number(limits->if_contains("block")) : std::nullopt;
  if (!challenge || !block || !(*challenge > 0 && *challenge < *block && *block <= 1)) {
    return invalid(
        "The risk model needs 'thresholds' {challenge, block} with 0 < challenge < block <= 1.");
  }
  model.challenge_threshold_ = *challenge;
  model.block_threshold_ = *block;
  return model;
}

const RiskModel& RiskModel::Default() {
  static const RiskModel kDefault = [] {
    Result<RiskModel> model = Parse(DefaultRiskModelJson());
    // The file is part of the build and covered by a test; a broken one must not ship.
    if (!model) std::abort();
    return std::move(model).value();
  }();
  return kDefault;
}

double RiskModel::Score(const RiskFeatures& features) const {
  double logit = bias_;
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) logit += weights_[i] * features[i];
  return 1.0 / (1.0 + std::exp(-logit));
}

RiskAction RiskModel::Decide(double score) const {
  if (score >= block_threshold_) return RiskAction::kBlock;
  if (score >= challenge_threshold_) return RiskAction::kChallenge;
  return RiskAction::kAllow;
}

std::string RiskModel::Explain(const RiskFeatures& features) const {
  std::array<std::pair<double, std::size_t>, kRiskFeatureCount> contributions{};
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
    contributions[i] = {weights_[i] * features[i], i};
  }
  std::sort(contributions.begin(), contributions.end(), std::greater<>());
  std::string out;
  for (std::size_t i = 0; i < 3 && contributions[i].first > 0; ++i) {
    if (!out.empty()) out += ',';
    char value[16];
    auto end = std::to_chars(value, value + sizeof value, contributions[i].first,
                             std::chars_format::fixed, 2);
    // A contribution too large for the buffer (a weight of 1e300 in a model file) is written in
    // scientific notation, not as the buffer's leftover bytes (found by
    // fuzz/risk_model_fuzzer.cpp).
    if (end.ec != std::errc()) {
      end = std::to_chars(value, value + sizeof value, contributions[i].first,
                          std::chars_format::scientific, 2);
    }
    out +=
        std::string(RiskFeatureName(contributions[i].second)) + "=" + std::string(value, end.ptr);
  }
  return out.empty() ? "none" : out;
}

Result<RiskModel> LoadRiskModel(const std::string& path) {
  std::ifstream file(path);
  if (!file) return RiskModel::Default();
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return Error::Internal("cannot read " + path);
  Result<RiskModel> model = RiskModel::Parse(text.str());
  if (!model) {
    Error error = model.error();
    error.message = path + ": " + error.message;
    return error;
  }
  return model;
}

struct RiskTracker::Tables {
  explicit Tables(std::size_t slots) : sessions(slots), devices(slots) {}
  KeyedTable<SessionState> sessions;
  KeyedTable<DeviceState> devices;
};

RiskTracker::RiskTracker(std::size_t slots) : tables_(std::make_unique<Tables>(slots)) {}
RiskTracker::~RiskTracker() = default;

RiskTracker::Keys RiskTracker::KeysFor(const ObservedRequest& request) const {
  Keys keys;
  if (request.session_id.empty() || !(request.timed || request.scored)) return keys;
  keys.session = KeyHash("risk:session", request.session_id);
  if (!request.device_id.empty()) keys.device = KeyHash("risk:device", request.device_id);
  return keys;
}

void RiskTracker::Prefetch(const Keys& keys) const {
  if (keys.session != 0) tables_->sessions.Prefetch(keys.session);
  if (keys.device != 0) tables_->devices.Prefetch(keys.device);
}

void RiskTracker::Observe(const ObservedRequest& request, const Keys& keys, TimePoint now,
                          RiskFeatures& features) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  features[kTimingRegular] = 0;
  features[kTelemetryMissing] = 0;
  features[kInteractionMissing] = 0;
  features[kInteractionInstant] = 0;
  const std::uint64_t session_key = keys.session;
  if (session_key != 0) {
    tables_->sessions.With(session_key, now_ns, [&](SessionState& state, bool) {
      if (request.timed) {
        if (state.last_ns != 0) {
          const double gap_s = std::max<std::int64_t>(0, now_ns - state.last_ns) / 1e9;
          if (state.gaps == 0) {
            state.gap_mean_s = gap_s;
            state.gap_square_mean_s2 = gap_s * gap_s;
          } else {
            state.gap_mean_s += kTimingAlpha * (gap_s - state.gap_mean_s);
            state.gap_square_mean_s2 += kTimingAlpha * (gap_s * gap_s - state.gap_square_mean_s2);
          }
          ++state.gaps;
        }
        state.last_ns = now_ns;
      }
      if (state.gaps >= kTimingGapsMin && state.gap_mean_s > 0) {
        const double variance =
            std::max(0.0, state.gap_square_mean_s2 - state.gap_mean_s * state.gap_mean_s);
        const double variation = std::sqrt(variance) / state.gap_mean_s;
        features[kTimingRegular] = std::clamp(1.0 - variation / kHumanVariation, 0.0, 1.0);
      }
      if (!state.has_telemetry) {
        features[kTelemetryMissing] = 1;
      } else {
        const Telemetry& telemetry = state.telemetry;
        features[kInteractionMissing] =
            telemetry.pointer_events + telemetry.key_events == 0 ? 1.0 : 0.0;
        features[kInteractionInstant] =
            telemetry.first_interaction_ms &&
                    *telemetry.first_interaction_ms < kInstantInteractionMs
                ? 1.0
                : 0.0;
      }
    });
  }

  features[kDeviceSessions] = 0;
  if (keys.device != 0 && session_key != 0) {
    const auto fingerprint = static_cast<std::uint32_t>(session_key >> 32) | 1u;
    const std::uint32_t count =
        tables_->devices.With(keys.device, now_ns, [&](DeviceState& state, bool) {
          const auto end = state.sessions.begin() + state.count;
          if (std::find(state.sessions.begin(), end, fingerprint) == end &&
              state.count < kDeviceSessionsMax) {
            state.sessions[state.count++] = fingerprint;
          }
          return state.count;
        });
    features[kDeviceSessions] = Ramp(count, 1, kDeviceSessionsFull);
  }
}

void RiskTracker::RecordTelemetry(std::string_view session_id, const Telemetry& telemetry,
                                  TimePoint now) {
  if (session_id.empty()) return;
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  tables_->sessions.With(KeyHash("risk:session", session_id), now_ns,
                         [&](SessionState& state, bool) {
                           state.has_telemetry = true;
                           state.telemetry = telemetry;
                         });
}

}  // namespace boxoffice
