#include "tools/onsale_monitor.hpp"
#include "tools/coroutine_frame_warning.hpp"

#include <sys/resource.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <cmath>
#include <cstdlib>

namespace boxoffice::tools::onsale {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;

// The event (admission rate, published seed) changes rarely: read every this many samples.
constexpr int kEventEverySamples = 5;
constexpr std::size_t kMetricsBodyMaxBytes = 64 << 20;

std::optional<double> Number(const json::object* object, std::string_view name) {
  if (object == nullptr) return std::nullopt;
  const json::value* value = object->if_contains(name);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

const json::object* Child(const json::object* object, std::string_view name) {
  if (object == nullptr) return nullptr;
  const json::value* value = object->if_contains(name);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

}  // namespace

void ReadStats(const json::object& stats, ServerSample& sample) {
  const json::object* inventory = Child(&stats, "inventory");
  const json::object* queue = Child(&stats, "queue");
  if (queue == nullptr) queue = Child(inventory, "queue");
  const json::object* orders = Child(&stats, "orders");
  sample.queue_joined = Number(queue, "joined");
  sample.queue_waiting = Number(queue, "waiting");
  sample.queue_served = Number(queue, "served");
  sample.queue_active = Number(queue, "active");
  sample.queue_admitted = Number(queue, "admitted");
  sample.queue_abandoned = Number(queue, "abandoned");
  sample.available = Number(inventory, "available");
  sample.held = Number(inventory, "held");
  sample.sold = Number(inventory, "sold");
  sample.capacity = Number(inventory, "capacity");
  sample.orders_confirmed = Number(orders, "confirmed");
  sample.orders_completed = Number(orders, "completed");
  sample.outbox_pending = Number(orders, "outbox_pending");
}

std::optional<double> MetricValue(std::string_view text, std::string_view name) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    std::string_view rest = line.substr(name.size());
    if (rest.front() == '{') {
      const std::size_t close = rest.find('}');
      if (close == std::string_view::npos) continue;
      rest.remove_prefix(close + 1);
    }
    if (rest.empty() || rest.front() != ' ') continue;
    const std::string value(rest.substr(1, rest.find(' ', 1) - 1));
    char* parsed_end = nullptr;
    const double number = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) continue;
    return number;
  }
  return std::nullopt;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<double> ServerRestarts(const std::vector<ServerSample>& samples) {
  std::vector<double> restarts;
  std::optional<double> last;
  for (const ServerSample& sample : samples) {
    if (!sample.server_started_s) continue;
    // The start time is read to the microsecond; a change below a millisecond is rounding.
    if (last && std::abs(*sample.server_started_s - *last) > 1e-3) {
      restarts.push_back(*sample.server_started_s);
    }
    last = sample.server_started_s;
  }
  return restarts;
}

Monitor::Monitor(asio::any_io_executor executor,
                 const asio::ip::tcp::resolver::results_type& endpoints, std::string operator_key,
                 std::string event_id, SteadyClock::time_point start)
    : stats_connection_(executor, endpoints),
      metrics_connection_(executor, endpoints),
      timer_(executor),
      operator_key_(std::move(operator_key)),
      event_id_(std::move(event_id)),
      start_(start),
      start_unix_s_(std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch() -
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            SteadyClock::now() - start))
                        .count()) {
  metrics_connection_.set_body_limit(kMetricsBodyMaxBytes);
}

awaitable<void> Monitor::Run() {
  std::int64_t tick = 0;
  while (!stopped_) {
    timer_.expires_at(start_ + std::chrono::seconds(tick));
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (stopped_) break;
    co_await Sample(static_cast<double>(tick), tick % kEventEverySamples == 0);
    // A sample that took longer than a second (the server stalled) skips the ticks it missed.
    const double elapsed_s = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    tick = std::max(tick + 1, static_cast<std::int64_t>(std::floor(elapsed_s)) + 1);
  }
}

void Monitor::Stop() {
  stopped_ = true;
  timer_.cancel();
}

awaitable<void> Monitor::Sample(double t_s, bool read_event) {
  ServerSample sample;
  sample.t_s = t_s;
  sample.sim_cpu_s = ProcessCpuSeconds();
  Headers headers;
  headers.emplace_back("Authorization", "Bearer " + operator_key_);
  const Headers public_headers;  // named: GCC 12 miscompiles braced lists in co_await expressions
  const std::string event_path = "/v1/events/" + event_id_;
  Reply stats =
      co_await stats_connection_.Send(bhttp::verb::get, event_path + "/stats", "", headers);
  if (stats.status == 200 && stats.Object()) ReadStats(*stats.Object(), sample);
  Reply metrics =
      co_await metrics_connection_.Send(bhttp::verb::get, "/metrics", "", public_headers);
  if (metrics.status == 200) {
    sample.rss_bytes = MetricValue(metrics.body, kRssMetric);
    sample.cpu_seconds = MetricValue(metrics.body, kCpuMetric);
    if (std::optional<double> started = MetricValue(metrics.body, kStartTimeMetric)) {
      sample.server_started_s = *started - start_unix_s_;
    }
  }
  if (read_event) {
    Reply event = co_await stats_connection_.Send(bhttp::verb::get, event_path, "", public_headers);
    if (event.status == 200 && event.Object()) {
      if (const json::object* queue = Child(event.Object(), "queue")) {
        event_queue_ = *queue;
        admission_rate_per_s_ = Number(queue, "admission_rate_per_s");
      }
    }
  }
  sample.admission_rate_per_s = admission_rate_per_s_;
  samples_.push_back(std::move(sample));
}

}  // namespace boxoffice::tools::onsale
