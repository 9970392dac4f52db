#include "tools/onsale_pool.hpp"
#include "tools/coroutine_frame_warning.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace boxoffice::tools::onsale {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// How often the watchdog looks for requests that took longer than kRequestTimeout.
constexpr auto kWatchdogInterval = std::chrono::seconds(1);
// How often the pool tries to connect while the server is down.
constexpr auto kProbeInterval = std::chrono::milliseconds(100);
// The clock wakes at least this often even with nothing scheduled (new arrivals need no wake:
// At() and SetArrivals() move it forward).
constexpr auto kClockIdleWake = std::chrono::seconds(1);

}  // namespace

struct ConnectionPool::Worker {
  Worker(asio::any_io_executor executor, const tcp::resolver::results_type& endpoints)
      : connection(executor, endpoints), wake(executor) {
    // One watchdog for every connection instead of two timer updates per request.
    connection.set_timeouts(false);
  }
  Connection connection;
  asio::steady_timer wake;
  std::optional<FanId> assigned;
};

ConnectionPool::ConnectionPool(asio::any_io_executor executor,
                               const tcp::resolver::results_type& endpoints,
                               std::size_t connections)
    : executor_(executor),
      endpoints_(endpoints),
      clock_timer_(executor),
      watchdog_timer_(executor) {
  workers_.reserve(connections);
  for (std::size_t i = 0; i < connections; ++i) {
    workers_.push_back(std::make_unique<Worker>(executor, endpoints));
  }
}

ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::SetArrivals(FanId count, ArrivalTime arrival) {
  arrivals_ = count;
  next_arrival_ = 0;
  arrival_time_ = std::move(arrival);
  clock_timer_.cancel();  // the clock recomputes its next wake
}

void ConnectionPool::At(SteadyClock::time_point when, FanId fan) {
  if (stopped_) return;
  if (when <= SteadyClock::now()) {
    MakeReady(fan, false);
    return;
  }
  heap_.push(Due{when, fan});
  if (when < clock_at_) {
    clock_at_ = when;
    clock_timer_.cancel();
  }
}

void ConnectionPool::Start(Serve serve) {
  serve_ = std::move(serve);
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    asio::co_spawn(executor_, Work(i), asio::detached);
  }
  asio::co_spawn(executor_, Clock(), asio::detached);
  asio::co_spawn(executor_, Watchdog(), asio::detached);
}

void ConnectionPool::Stop() {
  if (stopped_) return;
  stopped_ = true;
  clock_timer_.cancel();
  watchdog_timer_.cancel();
  for (const std::unique_ptr<Worker>& worker : workers_) {
    worker->wake.cancel();
    worker->connection.Close();
  }
}

void ConnectionPool::ServerDown() {
  if (down_ || stopped_) return;
  down_ = true;
  asio::co_spawn(executor_, Probe(), asio::detached);
}

awaitable<void> ConnectionPool::Work(std::size_t index) {
  Worker& worker = *workers_[index];
  for (;;) {
    if (stopped_) co_return;
    FanId fan = 0;
    if (std::optional<FanId> next = down_ ? std::nullopt : TakeReady()) {
      fan = *next;
    } else {
      worker.assigned.reset();
      idle_.push_back(index);
      worker.wake.expires_at(SteadyClock::time_point::max());
      boost::system::error_code ignored;
      co_await worker.wake.async_wait(asio::redirect_error(use_awaitable, ignored));
      if (stopped_) co_return;
      if (!worker.assigned) {
        // Woken without a fan: not idle any more either way.
        std::erase(idle_, index);
        continue;
      }
      fan = *worker.assigned;
      worker.assigned.reset();
    }
    ++busy_;
    co_await serve_(worker.connection, fan);
    --busy_;
  }
}

awaitable<void> ConnectionPool::Clock() {
  for (;;) {
    if (stopped_) co_return;
    const SteadyClock::time_point now = SteadyClock::now();
    MoveDue(now);
    const std::optional<SteadyClock::time_point> next = NextDue();
    clock_at_ = next ? *next : now + kClockIdleWake;
    clock_timer_.expires_at(clock_at_);
    boost::system::error_code ignored;
    co_await clock_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
  }
}

awaitable<void> ConnectionPool::Watchdog() {
  while (!stopped_) {
    watchdog_timer_.expires_after(kWatchdogInterval);
    boost::system::error_code ignored;
    co_await watchdog_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
    const SteadyClock::time_point too_old = SteadyClock::now() - kRequestTimeout;
    for (const std::unique_ptr<Worker>& worker : workers_) {
      const std::optional<SteadyClock::time_point> since = worker->connection.busy_since();
      if (since && *since < too_old) worker->connection.Close();  // the request fails
    }
  }
}

awaitable<void> ConnectionPool::Probe() {
  asio::steady_timer timer(executor_);
  while (!stopped_) {
    timer.expires_after(kProbeInterval);
    boost::system::error_code error;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, error));
    if (stopped_) break;
    tcp::socket socket(executor_);
    co_await asio::async_connect(socket, endpoints_, asio::redirect_error(use_awaitable, error));
    if (!error) break;
  }
  down_ = false;
  HandReadyToIdle();
}

void ConnectionPool::MoveDue(SteadyClock::time_point now) {
  for (;;) {
    const bool arrival_next = next_arrival_ < arrivals_ &&
                              (heap_.empty() || arrival_time_(next_arrival_) <= heap_.top().when);
    if (arrival_next) {
      if (arrival_time_(next_arrival_) > now) return;
      MakeReady(next_arrival_++, true);
      continue;
    }
    if (heap_.empty() || heap_.top().when > now) return;
    const FanId fan = heap_.top().fan;
    heap_.pop();
    MakeReady(fan, false);
  }
}

std::optional<SteadyClock::time_point> ConnectionPool::NextDue() const {
  std::optional<SteadyClock::time_point> next;
  if (!heap_.empty()) next = heap_.top().when;
  if (next_arrival_ < arrivals_) {
    const SteadyClock::time_point arrival = arrival_time_(next_arrival_);
    if (!next || arrival < *next) next = arrival;
  }
  return next;
}

void ConnectionPool::MakeReady(FanId fan, bool arriving) {
  if (!down_ && !idle_.empty() && ready_.empty() && arriving_.empty()) {
    Worker& worker = *workers_[idle_.back()];
    idle_.pop_back();
    worker.assigned = fan;
    worker.wake.cancel();
    return;
  }
  (arriving ? arriving_ : ready_).push_back(fan);
}

std::optional<FanId> ConnectionPool::TakeReady() {
  std::deque<FanId>& queue = ready_.empty() ? arriving_ : ready_;
  if (queue.empty()) return std::nullopt;
  const FanId fan = queue.front();
  queue.pop_front();
  return fan;
}

void ConnectionPool::HandReadyToIdle() {
  while (!down_ && !idle_.empty()) {
    std::optional<FanId> fan = TakeReady();
    if (!fan) return;
    Worker& worker = *workers_[idle_.back()];
    idle_.pop_back();
    worker.assigned = *fan;
    worker.wake.cancel();
  }
}

}  // namespace boxoffice::tools::onsale
