#include "defense/risk.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace boxoffice {
namespace {

constexpr std::string_view kChrome =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36";
constexpr std::string_view kChromeHints =
    R"("Chromium";v="118", "Google Chrome";v="118", "Not=A?Brand";v="99")";
constexpr std::string_view kFirefox =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0";

constexpr std::string_view kFixedModel = R"({
  "version": "test-7",
  "bias": -2.0,
  "weights": {"ua_automation": 3.0, "accept_language_missing": 1.5, "timing_regular": 2.0},
  "thresholds": {"challenge": 0.6, "block": 0.9}
})";

RiskFeatures HeaderFeatures(const RequestSignals& signals) {
  RiskFeatures features{};
  ExtractHeaderFeatures(signals, features);
  return features;
}

RequestSignals Browser() {
  RequestSignals signals;
  signals.user_agent = kChrome;
  signals.accept_language = "en-GB,en;q=0.9";
  signals.sec_ch_ua = kChromeHints;
  signals.sec_ch_ua_mobile = "?0";
  signals.sec_ch_ua_platform = "\"Windows\"";
  return signals;
}

// Browsers, automation libraries, headless browsers and missing user agents are told apart.
TEST(RiskFeaturesTest, ClassifiesUserAgents) {
  EXPECT_EQ(ClassifyUserAgent(kChrome), UserAgentClass::kBrowser);
  EXPECT_EQ(ClassifyUserAgent(kFirefox), UserAgentClass::kBrowser);
  for (std::string_view automation :
       {"curl/8.4.0", "python-requests/2.31.0", "Python-urllib/3.11", "Go-http-client/1.1",
        "okhttp/4.12.0", "Wget/1.21.4",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/118.0.0.0 Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}) {
    EXPECT_EQ(ClassifyUserAgent(automation), UserAgentClass::kAutomation) << automation;
  }
  EXPECT_EQ(ClassifyUserAgent(std::nullopt), UserAgentClass::kMissing);
  EXPECT_EQ(ClassifyUserAgent(""), UserAgentClass::kMissing);
  EXPECT_EQ(ClassifyUserAgent("MyTicketApp/1.0"), UserAgentClass::kOther);
}

// A real browser's headers raise no header feature.
TEST(RiskFeaturesTest, ConsistentBrowserHeadersAreClean) {
  const RiskFeatures chrome = HeaderFeatures(Browser());
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) EXPECT_EQ(chrome[i], 0) << RiskFeatureName(i);
  RequestSignals firefox;  // Firefox sends no client hints, and should not
  firefox.user_agent = kFirefox;
  firefox.accept_language = "de";
  const RiskFeatures features = HeaderFeatures(firefox);
  EXPECT_EQ(features[kClientHintsMissing], 0);
  EXPECT_EQ(features[kClientHintsInconsistent], 0);
}

// Client hints that contradict the user agent, or a Chrome without any, are flagged.
TEST(RiskFeaturesTest, FlagsInconsistentClientHints) {
  RequestSignals wrong_version = Browser();
  wrong_version.sec_ch_ua = R"("Chromium";v="110", "Google Chrome";v="110")";
  EXPECT_EQ(HeaderFeatures(wrong_version)[kClientHintsInconsistent], 1);

  RequestSignals wrong_platform = Browser();
  wrong_platform.sec_ch_ua_platform = "\"macOS\"";
  EXPECT_EQ(HeaderFeatures(wrong_platform)[kClientHintsInconsistent], 1);

  RequestSignals wrong_mobile = Browser();
  wrong_mobile.sec_ch_ua_mobile = "?1";
  EXPECT_EQ(HeaderFeatures(wrong_mobile)[kClientHintsInconsistent], 1);

  RequestSignals firefox_with_hints = Browser();
  firefox_with_hints.user_agent = kFirefox;
  firefox_with_hints.sec_ch_ua_platform = "\"macOS\"";
  EXPECT_EQ(HeaderFeatures(firefox_with_hints)[kClientHintsInconsistent], 1);

  RequestSignals headless = Browser();
  headless.sec_ch_ua = R"("HeadlessChrome";v="118", "Chromium";v="118")";
  EXPECT_EQ(HeaderFeatures(headless)[kClientHintsInconsistent], 1);

  RequestSignals no_hints = Browser();
  no_hints.sec_ch_ua.reset();
  no_hints.sec_ch_ua_mobile.reset();
  no_hints.sec_ch_ua_platform.reset();
  const RiskFeatures features = HeaderFeatures(no_hints);
  EXPECT_EQ(features[kClientHintsMissing], 1);
  EXPECT_EQ(features[kClientHintsInconsistent], 0);
}

// A script's headers: automation user agent and no Accept-Language.
TEST(RiskFeaturesTest, NaiveScriptHeaders) {
  RequestSignals curl;
  curl.user_agent = "curl/8.4.0";
  const RiskFeatures features = HeaderFeatures(curl);
  EXPECT_EQ(features[kUaAutomation], 1);
  EXPECT_EQ(features[kAcceptLanguageMissing], 1);
  EXPECT_EQ(HeaderFeatures(RequestSignals{})[kUaMissing], 1);
}

class RiskModelFileTest : public ::testing::Test {
 protected:
  std::string Write(std::string_view text) {
    const std::string path = dir_ + "/risk-model.json";
    std::ofstream(path) << text;
    return path;
  }
  test_support::TempDir temp_{"boxoffice-risk"};
  std::string dir_ = temp_.path();
};

// Scores from a fixed weights file equal the logistic function computed by hand.
TEST_F(RiskModelFileTest, ScoresFromAFixedWeightsFile) {
  Result<RiskModel> model = LoadRiskModel(Write(kFixedModel));
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(model->version(), "test-7");
  RiskFeatures features{};
  EXPECT_NEAR(model->Score(features), 1 / (1 + std::exp(2.0)), 1e-12);
  features[kUaAutomation] = 1;
  features[kTimingRegular] = 0.5;
  features[kTelemetryMissing] = 1;  // weight 0: not in the file
  EXPECT_NEAR(model->Score(features), 1 / (1 + std::exp(-(-2.0 + 3.0 + 1.0))), 1e-12);
  EXPECT_EQ(model->Explain(features), "ua_automation=3.00,timing_regular=1.00");
}

// A contribution with more digits than fit (a weight of 1e300) is explained in scientific
// notation; it was the buffer's leftover bytes before (found by fuzz/risk_model_fuzzer.cpp).
TEST(RiskModelTest, ExplainsHugeContributions) {
  Result<RiskModel> model = RiskModel::Parse(
      R"({"version": "huge", "bias": 0, "weights": {"ua_other": 1e300, "ua_missing": 12345678.9},
          "thresholds": {"challenge": 0.5, "block": 0.9}})");
  ASSERT_TRUE(model) << model.error().message;
  RiskFeatures features{};
  features[kUaOther] = 1;
  features[kUaMissing] = 1;
  EXPECT_EQ(model->Explain(features), "ua_other=1.00e+300,ua_missing=12345678.90");
}

// Thresholds split the score into allow / challenge / block, at the boundaries exactly.
TEST_F(RiskModelFileTest, ThresholdsDecide) {
  Result<RiskModel> model = LoadRiskModel(Write(kFixedModel));
  ASSERT_TRUE(model);
  EXPECT_EQ(model->Decide(0.0), RiskAction::kAllow);
  EXPECT_EQ(model->Decide(0.5999), RiskAction::kAllow);
  EXPECT_EQ(model->Decide(0.6), RiskAction::kChallenge);
  EXPECT_EQ(model->Decide(0.8999), RiskAction::kChallenge);
  EXPECT_EQ(model->Decide(0.9), RiskAction::kBlock);
  EXPECT_EQ(model->Decide(1.0), RiskAction::kBlock);
}

// No file: the compiled-in default. A broken file is an error, never silently ignored.
TEST_F(RiskModelFileTest, DefaultWhenAbsentErrorWhenInvalid) {
  Result<RiskModel> absent = LoadRiskModel(dir_ + "/none.json");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->version(), RiskModel::Default().version());
  for (std::string_view bad :
       {"not json", R"({"bias": 0, "weights": {}, "thresholds": {"challenge": 0.5, "block": 0.9}})",
        R"({"version": "x", "bias": 0, "weights": {"shoe_size": 1},
            "thresholds": {"challenge": 0.5, "block": 0.9}})",
        R"({"version": "x", "bias": 0, "weights": {}, "thresholds": {"challenge": 0.9,
            "block": 0.5}})"}) {
    Result<RiskModel> model = LoadRiskModel(Write(bad));
    ASSERT_FALSE(model) << bad;
    EXPECT_EQ(model.error().code, "invalid_risk_model");
  }
}

// The default model lets a clean browser through, and a script whose only fault is its headers
// (an integration, a monitoring probe); it challenges a script that runs like a metronome, and
// blocks one that also bursts from its address and spreads over many sessions of one device.
TEST(RiskModelTest, DefaultModelSeparatesBrowsersFromScripts) {
  const RiskModel& model = RiskModel::Default();
  RiskFeatures browser = HeaderFeatures(Browser());
  browser[kTelemetryMissing] = 1;  // joined before the page posted anything
  EXPECT_EQ(model.Decide(model.Score(browser)), RiskAction::kAllow);
  browser[kTimingRegular] = 1;  // a person refreshing steadily is still a person
  EXPECT_EQ(model.Decide(model.Score(browser)), RiskAction::kAllow);

  RequestSignals curl;
  curl.user_agent = "curl/8.4.0";
  RiskFeatures script = HeaderFeatures(curl);
  script[kTelemetryMissing] = 1;
  EXPECT_EQ(model.Decide(model.Score(script)), RiskAction::kAllow);
  script[kTimingRegular] = 1;
  EXPECT_EQ(model.Decide(model.Score(script)), RiskAction::kChallenge);
  script[kAddressVelocity] = 1;
  script[kPrefixVelocity] = 1;
  script[kDeviceSessions] = 1;
  EXPECT_EQ(model.Decide(model.Score(script)), RiskAction::kBlock);
}

class RiskTrackerTest : public ::testing::Test {
 protected:
  RiskFeatures Observe(std::string_view session, std::string_view device = {}) {
    RiskFeatures features{};
    tracker_.Observe(ObservedRequest{session, device}, clock_.Now(), features);
    return features;
  }
  FakeClock clock_;
  RiskTracker tracker_{1024};
};

// A session whose requests come at a fixed interval is regular; jittered gaps are not.
TEST_F(RiskTrackerTest, TimingRegularity) {
  for (int i = 0; i < 10; ++i) {
    Observe("ses_bot");
    clock_.Advance(std::chrono::milliseconds(500));
  }
  EXPECT_GT(Observe("ses_bot")[kTimingRegular], 0.95);

  const int gaps_ms[] = {300, 4200, 900, 12000, 1500, 600, 7000, 2500, 800, 5000};
  for (int gap : gaps_ms) {
    Observe("ses_person");
    clock_.Advance(std::chrono::milliseconds(gap));
  }
  EXPECT_EQ(Observe("ses_person")[kTimingRegular], 0);
  EXPECT_EQ(Observe("ses_new")[kTimingRegular], 0);  // too few gaps to say anything
}

// Many sessions on one device raise the device feature; one session does not.
TEST_F(RiskTrackerTest, SessionsPerDevice) {
  EXPECT_EQ(Observe("ses_a", "dev_1")[kDeviceSessions], 0);
  EXPECT_EQ(Observe("ses_a", "dev_1")[kDeviceSessions], 0);
  RiskFeatures features{};
  for (int i = 0; i < 6; ++i) features = Observe("ses_" + std::to_string(i), "dev_2");
  EXPECT_EQ(features[kDeviceSessions], 1);
}

// Telemetry: none, none of interest, and inhumanly fast are three different signals.
TEST_F(RiskTrackerTest, Telemetry) {
  EXPECT_EQ(Observe("ses_t")[kTelemetryMissing], 1);
  tracker_.RecordTelemetry("ses_t", Telemetry{0, 0, std::nullopt}, clock_.Now());
  RiskFeatures features = Observe("ses_t");
  EXPECT_EQ(features[kTelemetryMissing], 0);
  EXPECT_EQ(features[kInteractionMissing], 1);
  tracker_.RecordTelemetry("ses_t", Telemetry{3, 0, 20}, clock_.Now());
  features = Observe("ses_t");
  EXPECT_EQ(features[kInteractionMissing], 0);
  EXPECT_EQ(features[kInteractionInstant], 1);
  tracker_.RecordTelemetry("ses_t", Telemetry{57, 12, 2'400}, clock_.Now());
  features = Observe("ses_t");
  EXPECT_EQ(features[kInteractionInstant], 0);
}

// browser_without_telemetry: a browser's user agent and no telemetry; an API client that says
// what it is, or a browser whose page posted telemetry, does not have it.
TEST(RiskFeaturesTest, BrowserWithoutTelemetryCombinesUserAgentAndTelemetry) {
  auto combined = [](std::string_view user_agent, bool telemetry_missing) {
    RequestSignals signals;
    signals.user_agent = user_agent;
    signals.accept_language = "en";
    RiskFeatures features{};
    features[kTelemetryMissing] = telemetry_missing ? 1.0 : 0.0;
    ExtractHeaderFeatures(signals, features);
    CombineFeatures(features);
    return features[kBrowserWithoutTelemetry];
  };
  const std::string_view firefox =
      "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  EXPECT_EQ(combined(firefox, true), 1);
  EXPECT_EQ(combined(firefox, false), 0);
  EXPECT_EQ(combined("python-requests/2.31.0", true), 0);
  EXPECT_EQ(combined("SomeTool/1.0", true), 0);
  EXPECT_EQ(combined("", true), 0);
}

// The tables are bounded: far more sessions than slots never grows memory, and a pushed-out
// session simply starts afresh.
TEST_F(RiskTrackerTest, BoundedTables) {
  RiskTracker small(16);
  RiskFeatures features{};
  small.RecordTelemetry("ses_0", Telemetry{1, 1, 1'000}, clock_.Now());
  for (int i = 1; i < 10'000; ++i) {
    clock_.Advance(std::chrono::milliseconds(1));
    small.Observe(ObservedRequest{"ses_" + std::to_string(i)}, clock_.Now(), features);
  }
  small.Observe(ObservedRequest{"ses_0"}, clock_.Now(), features);
  EXPECT_EQ(features[kTelemetryMissing], 1);
}

}  // namespace
}  // namespace boxoffice
