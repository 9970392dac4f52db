#include "defense/risk_training.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>
#include <vector>

#include "common/json_text.hpp"

namespace boxoffice {
namespace {

constexpr std::size_t kParameters = kRiskFeatureCount + 1;  // the weights, then the bias
using Vector = std::array<double, kParameters>;
using Matrix = std::array<Vector, kParameters>;

// Newton stops when no parameter moves more than this.
constexpr double kStepTolerance = 1e-9;
// The bias is barely regularised: just enough to keep the system solvable.
constexpr double kBiasL2 = 1e-9;

Error Invalid(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_training_set", std::move(message));
}

double Logit(const Vector& theta, const RiskFeatures& x) {
  double z = theta[kRiskFeatureCount];
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) z += theta[i] * x[i];
  return z;
}

// log(1 + e^z) without overflow.
double Softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Solves a·x = b for a symmetric positive definite `a` (Cholesky); false when it is not.
bool SolveSpd(Matrix a, Vector b, Vector& x) {
  for (std::size_t j = 0; j < kParameters; ++j) {
    double diagonal = a[j][j];
    for (std::size_t k = 0; k < j; ++k) diagonal -= a[j][k] * a[j][k];
    if (!(diagonal > 0)) return false;
    a[j][j] = std::sqrt(diagonal);
    for (std::size_t i = j + 1; i < kParameters; ++i) {
      double value = a[i][j];
      for (std::size_t k = 0; k < j; ++k) value -= a[i][k] * a[j][k];
      a[i][j] = value / a[j][j];
    }
  }
  for (std::size_t i = 0; i < kParameters; ++i) {  // L·y = b
    for (std::size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
    b[i] /= a[i][i];
  }
  for (std::size_t i = kParameters; i-- > 0;) {  // Lᵀ·x = y
    for (std::size_t k = i + 1; k < kParameters; ++k) b[i] -= a[k][i] * b[k];
    b[i] /= a[i][i];
  }
  x = b;
  return true;
}

}  // namespace

Result<TrainedRiskModel> TrainRiskModel(std::span<const TrainingSample> samples,
                                        const TrainingOptions& options) {
  if (options.version.empty()) return Invalid("The trained model needs a version.");
  if (!(options.l2 > 0) ||
      !(options.human_challenge_rate_max >= 0 && options.human_challenge_rate_max < 1) ||
      !(options.challenge_margin >= 0 && options.block_margin > options.challenge_margin) ||
      !(options.block_threshold_min > 0 && options.block_threshold_min < 1)) {
    return Invalid("Training options out of range.");
  }
  std::size_t humans = 0;
  for (const TrainingSample& sample : samples) {
    for (double value : sample.features) {
      if (!std::isfinite(value)) return Invalid("A sample has a feature that is not finite.");
    }
    humans += sample.bot ? 0 : 1;
  }
  const std::size_t bots = samples.size() - humans;
  if (humans == 0 || bots == 0) {
    return Invalid("Training needs samples of humans and of bots; got " + std::to_string(humans) +
                   " and " + std::to_string(bots) + ".");
  }
  // Each class weighs one half of the loss.
  const double human_weight = 0.5 / static_cast<double>(humans);
  const double bot_weight = 0.5 / static_cast<double>(bots);

  const auto loss = [&](const Vector& theta) {
    double total = 0;
    for (const TrainingSample& sample : samples) {
      const double z = Logit(theta, sample.features);
      total += (sample.bot ? bot_weight : human_weight) * (Softplus(z) - (sample.bot ? z : 0));
    }
    for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
      const double pull = theta[i] - options.prior_weights[i];
      total += 0.5 * options.l2 * pull * pull;
    }
    return total + 0.5 * kBiasL2 * theta[kRiskFeatureCount] * theta[kRiskFeatureCount];
  };

  Vector theta{};
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) theta[i] = options.prior_weights[i];
  TrainedRiskModel model;
  model.version = options.version;
  double current = loss(theta);
  for (; model.iterations < options.iterations_max && !model.converged; ++model.iterations) {
    Vector gradient{};
    Matrix hessian{};
    for (const TrainingSample& sample : samples) {
      const double weight = sample.bot ? bot_weight : human_weight;
      const double p = Sigmoid(Logit(theta, sample.features));
      const double residual = weight * (p - (sample.bot ? 1.0 : 0.0));
      const double curvature = weight * p * (1 - p);
      std::array<double, kParameters> x{};
      std::copy(sample.features.begin(), sample.features.end(), x.begin());
      x[kRiskFeatureCount] = 1;
      for (std::size_t i = 0; i < kParameters; ++i) {
        if (x[i] == 0) continue;
        gradient[i] += residual * x[i];
        for (std::size_t j = 0; j <= i; ++j) hessian[i][j] += curvature * x[i] * x[j];
      }
    }
    for (std::size_t i = 0; i < kParameters; ++i) {
      const bool bias = i == kRiskFeatureCount;
      gradient[i] += bias ? kBiasL2 * theta[i] : options.l2 * (theta[i] - options.prior_weights[i]);
      hessian[i][i] += bias ? kBiasL2 : options.l2;
      for (std::size_t j = 0; j < i; ++j) hessian[j][i] = hessian[i][j];
    }
    Vector step{};
    if (!SolveSpd(hessian, gradient, step)) return Invalid("The training system is singular.");
    // Backtracking: the full Newton step, halved until the loss goes down.
    double scale = 1;
    Vector next{};
    double next_loss = current;
    for (int halvings = 0; halvings < 30; ++halvings, scale /= 2) {
      for (std::size_t i = 0; i < kParameters; ++i) next[i] = theta[i] - scale * step[i];
      next_loss = loss(next);
      if (next_loss <= current) break;
    }
    double moved = 0;
    for (std::size_t i = 0; i < kParameters; ++i) {
      moved = std::max(moved, std::abs(next[i] - theta[i]));
    }
    if (next_loss > current) break;  // no step improves: as close as doubles get
    theta = next;
    current = next_loss;
    model.converged = moved < kStepTolerance;
  }
  std::copy(theta.begin(), theta.begin() + kRiskFeatureCount, model.weights.begin());
  model.bias = theta[kRiskFeatureCount];

  // Thresholds, in log-odds, from the humans' scores: each human sender's highest.
  std::unordered_map<std::uint64_t, double> sender_logits;
  std::vector<double> human_logits;
  for (const TrainingSample& sample : samples) {
    if (sample.bot) continue;
    const double z = Logit(theta, sample.features);
    if (sample.sender == 0) {
      human_logits.push_back(z);
      continue;
    }
    const auto [at, fresh] = sender_logits.try_emplace(sample.sender, z);
    if (!fresh) at->second = std::max(at->second, z);
  }
  for (const auto& [sender, z] : sender_logits) human_logits.push_back(z);
  std::sort(human_logits.begin(), human_logits.end(), std::greater<>());
  const std::size_t senders = human_logits.size();
  // Senders at or above the challenge threshold must be at most `allowed`: the threshold goes
  // above the sender at index `allowed` (0-based, highest first).
  const auto allowed = static_cast<std::size_t>(
      std::floor(options.human_challenge_rate_max * static_cast<double>(senders)));
  const double challenge_logit =
      human_logits[std::min(allowed, senders - 1)] + options.challenge_margin;
  const double block_logit =
      std::max(human_logits.front() + options.block_margin,
               std::log(options.block_threshold_min / (1 - options.block_threshold_min)));
  model.block_threshold = std::min(1.0, Sigmoid(block_logit));
  model.challenge_threshold = Sigmoid(challenge_logit);
  if (model.challenge_threshold >= model.block_threshold) {
    model.challenge_threshold = std::nextafter(model.block_threshold, 0.0);
  }
  if (!(model.challenge_threshold > 0)) model.challenge_threshold = 1e-300;

  model.rates.humans = humans;
  model.rates.bots = bots;
  model.rates.human_senders = senders;
  for (double z : human_logits)
    model.rates.human_senders_challenged += Sigmoid(z) >= model.challenge_threshold;
  for (const TrainingSample& sample : samples) {
    const double score = Sigmoid(Logit(theta, sample.features));
    const bool blocked = score >= model.block_threshold;
    const bool challenged = !blocked && score >= model.challenge_threshold;
    if (sample.bot) {
      model.rates.bots_blocked += blocked;
      model.rates.bots_challenged += challenged;
    } else {
      model.rates.humans_blocked += blocked;
      model.rates.humans_challenged += challenged;
    }
  }
  return model;
}

std::string TrainedRiskModelJson(const TrainedRiskModel& model, const TrainingOptions& options,
                                 const boost::json::object& about) {
  namespace json = boost::json;
  json::object weights;
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i)
    weights[RiskFeatureName(i)] = model.weights[i];
  const TrainingRates& rates = model.rates;
  const auto share = [](std::size_t part, std::size_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
  };
  json::object trained{
      {"samples", json::object{{"humans", rates.humans}, {"bots", rates.bots}}},
      {"training_set",
       json::object{
           {"humans_challenged", rates.humans_challenged},
           {"humans_blocked", rates.humans_blocked},
           {"bots_challenged", rates.bots_challenged},
           {"bots_blocked", rates.bots_blocked},
           {"human_challenge_rate", share(rates.humans_challenged, rates.humans)},
           {"human_senders", rates.human_senders},
           {"human_senders_challenged", rates.human_senders_challenged},
           {"human_block_rate", share(rates.humans_blocked, rates.humans)},
           {"bot_stop_rate", share(rates.bots_challenged + rates.bots_blocked, rates.bots)}}},
      {"method",
       json::object{{"fit", "class-weighted L2-regularised logistic regression, Newton's method"},
                    {"l2", options.l2},
                    {"iterations", model.iterations},
                    {"converged", model.converged},
                    {"human_challenge_rate_max", options.human_challenge_rate_max},
                    {"challenge_margin_log_odds", options.challenge_margin},
                    {"block_margin_log_odds", options.block_margin}}}};
  for (const auto& [key, value] : about) trained[key] = value;
  json::object out{{"version", model.version},
                   {"bias", model.bias},
                   {"weights", std::move(weights)},
                   {"thresholds", json::object{{"challenge", model.challenge_threshold},
                                               {"block", model.block_threshold}}},
                   {"trained", std::move(trained)}};
  return SerializeJson(out);
}

}  // namespace boxoffice
