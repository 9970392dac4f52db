#include "defense/risk_training.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <random>
#include <set>
#include <vector>

namespace boxoffice {
namespace {

// Scores every sample with the model as the server would load it (the JSON through
// RiskModel::Parse), so the thresholds are checked on the path that uses them.
struct Outcome {
  std::size_t humans = 0, humans_challenged = 0, humans_blocked = 0;
  std::size_t bots = 0, bots_stopped = 0;
};
Outcome Evaluate(const RiskModel& model, const std::vector<TrainingSample>& samples) {
  Outcome out;
  for (const TrainingSample& sample : samples) {
    const RiskAction action = model.Decide(model.Score(sample.features));
    if (sample.bot) {
      ++out.bots;
      out.bots_stopped += action != RiskAction::kAllow;
    } else {
      ++out.humans;
      out.humans_challenged += action == RiskAction::kChallenge;
      out.humans_blocked += action == RiskAction::kBlock;
    }
  }
  return out;
}

RiskModel ParseTrained(const TrainedRiskModel& trained, const TrainingOptions& options) {
  Result<RiskModel> model = RiskModel::Parse(TrainedRiskModelJson(trained, options, {{"seed", 7}}));
  EXPECT_TRUE(model) << (model ? "" : model.error().message);
  return model ? *model : RiskModel::Default();
}

// Bots always use an automation library; humans never do; timing is noise for both. The fit
// must put a clearly positive weight on the library and stop every bot without stopping a human.
TEST(RiskTrainingTest, SeparableDataRecoversTheSignAndStopsEveryBot) {
  std::mt19937_64 random(1);
  std::uniform_real_distribution<double> noise(0, 1);
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 600; ++i) {
    TrainingSample sample;
    sample.bot = i % 3 == 0;
    sample.features[kUaAutomation] = sample.bot ? 1 : 0;
    sample.features[kTimingRegular] = noise(random);
    samples.push_back(sample);
  }
  TrainingOptions options;
  options.version = "test-separable";
  Result<TrainedRiskModel> trained = TrainRiskModel(samples, options);
  ASSERT_TRUE(trained) << trained.error().message;
  EXPECT_TRUE(trained->converged);
  EXPECT_GT(trained->weights[kUaAutomation], 2.0);
  EXPECT_LT(std::abs(trained->weights[kTimingRegular]), trained->weights[kUaAutomation] / 4);
  const RiskModel model = ParseTrained(*trained, options);
  EXPECT_EQ(model.version(), "test-separable");
  const Outcome outcome = Evaluate(model, samples);
  EXPECT_EQ(outcome.humans_blocked, 0u);
  EXPECT_EQ(outcome.humans_challenged, 0u);
  EXPECT_EQ(outcome.bots_stopped, outcome.bots);
  EXPECT_EQ(trained->rates.bots_challenged + trained->rates.bots_blocked, outcome.bots);
}

// Overlapping classes: bots are likelier to lack telemetry and keep a regular rhythm, humans
// likelier to send no pointer events (a feature that, here, speaks for a human). The signs come
// out right, and the thresholds keep to the human-rate limits even though some bots look human.
TEST(RiskTrainingTest, NonSeparableDataRespectsTheHumanLimits) {
  std::mt19937_64 random(2);
  std::bernoulli_distribution coin(0.5);
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(random); };
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 4000; ++i) {
    TrainingSample sample;
    sample.bot = i % 4 == 0;
    sample.features[kTelemetryMissing] = chance(sample.bot ? 0.7 : 0.05);
    sample.features[kTimingRegular] = std::uniform_real_distribution<double>(
        sample.bot ? 0.3 : 0.0, sample.bot ? 1.0 : 0.6)(random);
    sample.features[kInteractionMissing] = chance(sample.bot ? 0.02 : 0.2);
    sample.sender = static_cast<std::uint64_t>(i / 8 + 1);  // each human sends ~6 requests
    samples.push_back(sample);
  }
  TrainingOptions options;
  options.version = "test-overlap";
  Result<TrainedRiskModel> trained = TrainRiskModel(samples, options);
  ASSERT_TRUE(trained) << trained.error().message;
  EXPECT_GT(trained->weights[kTelemetryMissing], 0.5);
  EXPECT_GT(trained->weights[kTimingRegular], 0.5);
  EXPECT_LT(trained->weights[kInteractionMissing], -0.5);
  const RiskModel model = ParseTrained(*trained, options);
  const Outcome outcome = Evaluate(model, samples);
  EXPECT_EQ(outcome.humans_blocked, 0u);
  EXPECT_EQ(outcome.humans_challenged, trained->rates.humans_challenged);
  // The limit counts human senders: one challenged request challenges its sender.
  std::set<std::uint64_t> senders, challenged;
  for (const TrainingSample& sample : samples) {
    if (sample.bot) continue;
    senders.insert(sample.sender);
    if (model.Decide(model.Score(sample.features)) != RiskAction::kAllow) {
      challenged.insert(sample.sender);
    }
  }
  EXPECT_EQ(senders.size(), trained->rates.human_senders);
  EXPECT_LE(challenged.size(), senders.size() / 100);
  EXPECT_EQ(challenged.size(), trained->rates.human_senders_challenged);
  // Not every bot can be stopped at that price, but many are.
  EXPECT_GT(outcome.bots_stopped, outcome.bots / 4);
  EXPECT_LT(outcome.bots_stopped, outcome.bots);
}

// A feature the samples never show keeps the prior's weight; the same data give the same model.
TEST(RiskTrainingTest, UnseenFeaturesKeepThePriorAndTrainingIsDeterministic) {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 200; ++i) {
    TrainingSample sample;
    sample.bot = i % 2 == 0;
    sample.features[kAcceptLanguageMissing] = sample.bot && i % 4 == 0;
    samples.push_back(sample);
  }
  TrainingOptions options;
  options.version = "test-prior";
  options.prior_weights[kUaMissing] = 2.0;
  Result<TrainedRiskModel> first = TrainRiskModel(samples, options);
  Result<TrainedRiskModel> second = TrainRiskModel(samples, options);
  ASSERT_TRUE(first && second);
  EXPECT_DOUBLE_EQ(first->weights[kUaMissing], 2.0);
  EXPECT_EQ(TrainedRiskModelJson(*first, options, {}), TrainedRiskModelJson(*second, options, {}));
  const boost::json::value json = boost::json::parse(TrainedRiskModelJson(*first, options, {}));
  EXPECT_EQ(json.at("trained").at("samples").at("humans").as_int64(), 100);
}

// Training refuses what it cannot learn from.
TEST(RiskTrainingTest, RefusesOneClassOrBadOptions) {
  std::vector<TrainingSample> humans(10);
  TrainingOptions options;
  options.version = "x";
  EXPECT_FALSE(TrainRiskModel(humans, options));
  humans.push_back(TrainingSample{{}, true});
  EXPECT_TRUE(TrainRiskModel(humans, options));
  options.version = "";
  EXPECT_FALSE(TrainRiskModel(humans, options));
  options.version = "x";
  options.l2 = 0;
  EXPECT_FALSE(TrainRiskModel(humans, options));
  options.l2 = 0.01;
  humans[0].features[kTimingRegular] = std::nan("");
  EXPECT_FALSE(TrainRiskModel(humans, options));
}

}  // namespace
}  // namespace boxoffice
