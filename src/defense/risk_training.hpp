// Training the risk model (risk.hpp) from labelled samples: each sample is the feature vector
// the server scored for one request (GET /v1/defense/decisions) and whether a bot sent it.
// `boxoffice botsim --train` collects them from simulated traffic and writes the result as
// `<data-dir>/risk-model.json`.
//
// The model is an L2-regularised logistic regression fitted by Newton's method (14 parameters,
// so each step solves a 14×14 system exactly): deterministic, no learning rate to tune. The two
// classes weigh the same in the loss whatever their sample counts. The L2 term pulls the weights
// towards a prior (the hand-set default model's weights), so a feature the training traffic never
// shows keeps its prior weight instead of dropping to 0.
//
// The thresholds come from the human samples, because wrongly stopping a fan is the cost that
// matters: `challenge` sits a margin above the highest score of all but
// `human_challenge_rate_max` of the human senders (a sender's highest score decides whether they
// are challenged at all), `block` a larger margin above the highest human score (0 humans blocked
// is a hard target), both margins in log-odds so they mean the same at any score.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/result.hpp"
#include "defense/risk.hpp"

namespace boxoffice {

struct TrainingSample {
  RiskFeatures features{};
  bool bot = false;
  // Who sent it (a simulated fan, say). The human limits count senders, not requests: a human
  // is challenged when any of their requests is. 0: the sample is a sender of its own.
  std::uint64_t sender = 0;
};

struct TrainingOptions {
  std::string version;  // the model's version string, e.g. "botsim-20261130-7"
  // Strength of the pull towards `prior_weights`, on the class-weighted mean log loss.
  double l2 = 0.01;
  std::array<double, kRiskFeatureCount> prior_weights{};
  std::size_t iterations_max = 100;
  // At most this share of human senders may reach the challenge threshold.
  double human_challenge_rate_max = 0.01;
  // Log-odds between the human score the thresholds are set from and the threshold itself.
  double challenge_margin = 0.25;
  // Wide: a fan is blocked with no way through, and the highest human score of one run says
  // little about the next run's (a 100-fan run under AddressSanitizer blocked a fan whose page
  // never reported and whose pauses happened to look regular: 0.9952 against a block at 0.995).
  double block_margin = 2.0;
  // Blocking is for near certainty whatever the data say; a bot between the two thresholds is
  // challenged, which stops it as well unless it solves the proof of work.
  double block_threshold_min = 0.999;
};

// How the fitted model decides on its own training samples.
struct TrainingRates {
  std::size_t humans = 0;  // samples
  std::size_t bots = 0;
  std::size_t human_senders = 0;
  std::size_t human_senders_challenged = 0;  // any of their samples at or above `challenge`
  std::size_t humans_challenged = 0;         // at or above `challenge`, below `block`
  std::size_t humans_blocked = 0;
  std::size_t bots_challenged = 0;
  std::size_t bots_blocked = 0;
};

struct TrainedRiskModel {
  std::string version;
  double bias = 0;
  std::array<double, kRiskFeatureCount> weights{};
  double challenge_threshold = 0.5;
  double block_threshold = 0.99;
  std::size_t iterations = 0;
  bool converged = false;
  TrainingRates rates;
};

// 422 invalid_training_set unless there is at least one sample of each class and every feature
// value is finite; options out of range are the same error.
Result<TrainedRiskModel> TrainRiskModel(std::span<const TrainingSample> samples,
                                        const TrainingOptions& options);

// The model file RiskModel::Parse reads, plus a "trained" object: sample counts, training-set
// rates, the options, and whatever the caller adds in `about` (the simulator's settings).
std::string TrainedRiskModelJson(const TrainedRiskModel& model, const TrainingOptions& options,
                                 const boost::json::object& about);

}  // namespace boxoffice
