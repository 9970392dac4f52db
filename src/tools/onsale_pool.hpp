// The bounded pool of keep-alive connections the fans of an `onsale` run share (one machine
// cannot open a million sockets), and the clock that says whose request is due. Each fan's next
// request has an intended send time; when it comes the fan joins a FIFO of borrowers, and the
// first free connection serves it (one worker coroutine per connection borrows, sends and gives
// the connection back). A fan waiting for a connection costs four bytes in the FIFO, a fan
// waiting for its time sixteen in a heap: no coroutine, no timer per fan.
//
// When the server refuses connections (it is down: the benchmark kill -9s and restarts it), the
// pool holds every request back and probes with a fresh connection every 100 ms, so a million
// waiting fans do not each burn a connect per backoff; requests due meanwhile leave, late, when
// it is back, and their lateness counts in their latency.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

#include "tools/http_client.hpp"

namespace boxoffice::tools::onsale {

using FanId = std::uint32_t;

class ConnectionPool {
 public:
  // Serves one due fan on a borrowed connection: sends its request (or holds a stream) and
  // schedules what comes next through At().
  using Serve = std::function<boost::asio::awaitable<void>(Connection&, FanId)>;
  // When fan `id` arrives; nondecreasing in `id`.
  using ArrivalTime = std::function<SteadyClock::time_point(FanId)>;

  ConnectionPool(boost::asio::any_io_executor executor,
                 const boost::asio::ip::tcp::resolver::results_type& endpoints,
                 std::size_t connections);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Fans 0..count-1 come due at their arrival times, in order, without taking heap space before.
  void SetArrivals(FanId count, ArrivalTime arrival);
  // Fan `fan` comes due at `when` (at once when that has passed).
  void At(SteadyClock::time_point when, FanId fan);
  // Starts the workers and the clock; `serve` is called for every fan as it comes due.
  void Start(Serve serve);
  // Stops: no fan is served any more, and every connection is closed (a request or stream in
  // flight fails).
  void Stop();

  // A connection could not be opened: hold requests until the server accepts one again.
  void ServerDown();
  bool server_down() const { return down_; }

  std::size_t connections() const { return workers_.size(); }
  std::size_t busy() const { return busy_; }
  // Fans whose time has come, waiting for a free connection.
  std::size_t borrowers_waiting() const { return ready_.size() + arriving_.size(); }
  // Fans waiting for their time (arrivals not counted).
  std::size_t scheduled() const { return heap_.size(); }

 private:
  struct Worker;
  struct Due {
    SteadyClock::time_point when;
    FanId fan;
    bool operator>(const Due& other) const { return when > other.when; }
  };

  boost::asio::awaitable<void> Work(std::size_t index);
  boost::asio::awaitable<void> Clock();
  boost::asio::awaitable<void> Probe();
  // Closes connections whose request has waited longer than kRequestTimeout for its answer.
  boost::asio::awaitable<void> Watchdog();
  // Moves every fan whose time has come into the FIFO (or straight to an idle worker).
  void MoveDue(SteadyClock::time_point now);
  std::optional<SteadyClock::time_point> NextDue() const;
  // `arriving`: the fan's first request. Fans on their way go first: a real fan has a connection
  // of its own, and in a shared pool a burst of arrivals must not starve the holds and orders of
  // the fans already admitted.
  void MakeReady(FanId fan, bool arriving);
  std::optional<FanId> TakeReady();
  void HandReadyToIdle();

  boost::asio::any_io_executor executor_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::size_t> idle_;  // workers waiting for a fan (a stack: warm ones first)
  std::deque<FanId> ready_;        // due fans on their way waiting for a connection, oldest first
  std::deque<FanId> arriving_;     // due arrivals waiting for a connection, oldest first
  std::priority_queue<Due, std::vector<Due>, std::greater<>> heap_;
  FanId arrivals_ = 0;
  FanId next_arrival_ = 0;
  ArrivalTime arrival_time_;
  boost::asio::steady_timer clock_timer_;
  SteadyClock::time_point clock_at_ = SteadyClock::time_point::max();
  boost::asio::steady_timer watchdog_timer_;
  Serve serve_;
  std::size_t busy_ = 0;
  bool down_ = false;
  bool stopped_ = false;
};

}  // namespace boxoffice::tools::onsale
