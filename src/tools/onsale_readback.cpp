#include "tools/onsale_readback.hpp"
#include "tools/coroutine_frame_warning.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <memory>
#include <numeric>

namespace boxoffice::tools::onsale {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using tcp = asio::ip::tcp;

constexpr std::size_t kReaders = 8;  // connections reading orders at once
constexpr std::size_t kReadBodyMaxBytes = 256 << 20;
constexpr auto kReadRoundPause = std::chrono::seconds(1);

bool Complete(const LedgerOrder& read, const ConfirmedOrder& order) {
  return read.found && read.status == "completed" && read.codes == order.seats.size();
}

// Runs `body(worker)` for workers 0..count-1 at once and returns when all have.
awaitable<void> AllOf(asio::any_io_executor executor, std::size_t count,
                      std::function<awaitable<void>(std::size_t)> body) {
  asio::steady_timer latch(executor, SteadyClock::time_point::max());
  std::size_t running = count;
  for (std::size_t worker = 0; worker < count; ++worker) {
    asio::co_spawn(
        executor,
        [&, worker]() -> awaitable<void> {
          co_await body(worker);
          if (--running == 0) latch.cancel();
        },
        asio::detached);
  }
  boost::system::error_code ignored;
  if (count > 0) co_await latch.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace

awaitable<OrderReads> ReadOrders(asio::any_io_executor executor,
                                 const tcp::resolver::results_type& endpoints,
                                 std::string operator_key, std::span<const ConfirmedOrder> orders,
                                 BuyerHeaders buyer_headers, double wait_max_s) {
  OrderReads out;
  out.orders.resize(orders.size());
  std::vector<std::size_t> pending(orders.size());
  std::iota(pending.begin(), pending.end(), 0);
  std::vector<std::unique_ptr<Connection>> connections;
  for (std::size_t i = 0; i < kReaders; ++i) {
    connections.push_back(std::make_unique<Connection>(executor, endpoints));
  }
  Headers operator_headers;
  operator_headers.emplace_back("Authorization", "Bearer " + operator_key);
  bool operator_limited = false;
  const SteadyClock::time_point started = SteadyClock::now();
  for (;;) {
    std::size_t next = 0;
    co_await AllOf(executor, kReaders, [&](std::size_t worker) -> awaitable<void> {
      Connection& connection = *connections[worker];
      while (next < pending.size()) {
        const std::size_t index = pending[next++];
        const ConfirmedOrder& order = orders[index];
        const std::string target = "/v1/orders/" + order.order_id;
        bool by_operator = !operator_limited;
        Headers headers = by_operator ? operator_headers : buyer_headers(order.fan);
        Reply reply = co_await connection.Send(bhttp::verb::get, target, "", headers);
        if (reply.status == 429 && by_operator) {
          operator_limited = true;  // from now on, as the buyers
          by_operator = false;
          headers = buyer_headers(order.fan);
          reply = co_await connection.Send(bhttp::verb::get, target, "", headers);
        }
        LedgerOrder& read = out.orders[index];
        if (reply.status == 200 && reply.Object()) {
          read = ParseLedgerOrder(*reply.Object());
          read.by_operator = by_operator;
        } else {
          read.found = false;
          read.error = reply.status == 0 ? "transport: " + reply.error
                                         : std::to_string(reply.status) + " " + reply.error;
          read.by_operator = by_operator;
        }
      }
    });
    out.waited_s = std::chrono::duration<double>(SteadyClock::now() - started).count();
    std::vector<std::size_t> again;
    for (std::size_t index : pending) {
      const LedgerOrder& read = out.orders[index];
      // A 404 is an answer, not a delay: the order is not there.
      if (!Complete(read, orders[index]) && !read.error.starts_with("404")) again.push_back(index);
    }
    pending = std::move(again);
    if (pending.empty() || out.waited_s >= wait_max_s) break;
    asio::steady_timer pause(executor, kReadRoundPause);
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return out;
}

awaitable<std::optional<json::object>> ReadObject(asio::any_io_executor executor,
                                                  const tcp::resolver::results_type& endpoints,
                                                  std::string target, Headers headers) {
  Connection connection(executor, endpoints);
  connection.set_body_limit(kReadBodyMaxBytes);
  Reply reply = co_await connection.Send(bhttp::verb::get, std::move(target), "", headers);
  if (reply.status != 200 || reply.Object() == nullptr) co_return std::nullopt;
  co_return *reply.Object();
}

std::optional<std::vector<std::string>> SoldSeatIds(const json::object& seats) {
  const json::value* list = seats.if_contains("seats");
  if (list == nullptr || !list->is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const json::value& seat : list->get_array()) {
    if (!seat.is_object()) continue;
    const json::value* status = seat.get_object().if_contains("status");
    if (status != nullptr && status->is_string() && status->get_string() != "sold") continue;
    const json::value* id = seat.get_object().if_contains("id");
    if (id != nullptr && id->is_string()) ids.emplace_back(id->get_string());
  }
  return ids;
}

}  // namespace boxoffice::tools::onsale
