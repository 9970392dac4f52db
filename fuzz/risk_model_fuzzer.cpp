// The bot defence's risk score (src/defense/risk.cpp): the model file `<data-dir>/risk-model.json`
// that `botsim --train` writes and an operator may edit, and the request headers the score reads.
// A model that parses must score every request in [0, 1] and explain it in words a log can hold;
// headers must give features in [0, 1].
//
// Input: a selector byte, then:
//   'a' a model file: RiskModel::Parse, then Score, Decide and Explain on every single feature
//       and on all of them at once
//   'b' request headers, fields separated by 0x1f: User-Agent, Accept-Language, Sec-CH-UA,
//       Sec-CH-UA-Mobile, Sec-CH-UA-Platform, X-Device-Id (an empty field: the header is absent),
//       scored by the default model and fed to a RiskTracker
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "defense/risk.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace boxoffice;

// "name=value,..." (at most three) or "none", each value a number with two decimals.
void CheckExplanation(const std::string& text) {
  if (text == "none") return;
  std::size_t items = 0;
  for (std::string_view rest = text; !rest.empty(); ++items) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::size_t equals = item.find('=');
    FUZZ_EXPECT(equals != std::string_view::npos && equals > 0);
    const std::string_view number = item.substr(equals + 1);
    double value = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    FUZZ_EXPECT(error == std::errc() && end == number.data() + number.size());
    FUZZ_EXPECT(value >= 0);  // a positive contribution, perhaps below 0.005
  }
  FUZZ_EXPECT(items >= 1 && items <= 3);
}

void Score(const RiskModel& model, const RiskFeatures& features) {
  const double score = model.Score(features);
  FUZZ_EXPECT(score >= 0.0 && score <= 1.0);  // false for NaN too
  model.Decide(score);
  CheckExplanation(model.Explain(features));
}

void Model(std::string_view text) {
  const Result<RiskModel> model = RiskModel::Parse(text);
  if (!model) {
    FUZZ_EXPECT(model.error().code == "invalid_risk_model");
    return;
  }
  FUZZ_EXPECT(model->challenge_threshold() > 0 &&
              model->challenge_threshold() < model->block_threshold() &&
              model->block_threshold() <= 1);
  RiskFeatures features{};
  Score(*model, features);
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
    RiskFeatures one{};
    one[i] = 1.0;
    Score(*model, one);
    features[i] = 1.0;
  }
  Score(*model, features);
}

std::optional<std::string_view> Header(fuzz::FuzzInput& input) {
  const std::string_view value = input.Field();
  if (value.empty()) return std::nullopt;
  return value;
}

void Headers(fuzz::FuzzInput& input) {
  RequestSignals signals;
  signals.user_agent = Header(input);
  signals.accept_language = Header(input);
  signals.sec_ch_ua = Header(input);
  signals.sec_ch_ua_mobile = Header(input);
  signals.sec_ch_ua_platform = Header(input);
  signals.device_id = input.Field();
  RiskFeatures features{};
  ExtractHeaderFeatures(signals, features);
  static RiskTracker* tracker = new RiskTracker(64);  // bounded: 64 slots, keys pushed out
  const TimePoint now(std::chrono::seconds(1'800'000'000));
  tracker->Observe(ObservedRequest{signals.device_id, signals.device_id}, now, features);
  CombineFeatures(features);
  for (double feature : features) FUZZ_EXPECT(feature >= 0.0 && feature <= 1.0);
  Score(RiskModel::Default(), features);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput input(data, size);
  switch (input.Select(2)) {
    case 0:
      Model(input.rest());
      break;
    default:
      Headers(input);
      break;
  }
  return 0;
}
