#include "tools/botsim_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <exception>

namespace boxoffice::tools::botsim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

constexpr std::size_t kResponseBodyMaxBytes = 16 << 20;
constexpr auto kRequestTimeout = std::chrono::seconds(30);

}  // namespace

const json::object* Reply::Object() const {
  if (!parsed_) {
    std::error_code error;
    json_ = json::parse(body, error);
    if (error) json_ = nullptr;
    parsed_ = true;
  }
  return json_.if_object();
}

std::string Reply::String(std::string_view key) const {
  const json::object* object = Object();
  const json::value* value = object ? object->if_contains(key) : nullptr;
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

awaitable<Reply> Connection::Send(bhttp::verb method, std::string target, std::string body,
                                  const Headers& headers) {
  // A kept-alive connection the server closed meanwhile fails at once; that, and only that,
  // is worth one retry on a fresh connection (a request that failed on a fresh connection
  // may have taken effect, and a hold must not be asked for twice).
  const bool reused = open_;
  Reply reply = co_await SendOnce(method, target, body, headers);
  if (reply.status == 0 && reused) reply = co_await SendOnce(method, target, body, headers);
  co_return reply;
}

awaitable<Reply> Connection::SendOnce(bhttp::verb method, const std::string& target,
                                      const std::string& body, const Headers& headers) {
  Reply reply;
  try {
    if (!open_) {
      stream_.expires_after(kRequestTimeout);
      co_await stream_.async_connect(endpoints_, use_awaitable);
      stream_.socket().set_option(tcp::no_delay(true));
      open_ = true;
    }
    bhttp::request<bhttp::string_body> request{method, target, 11};
    request.set(bhttp::field::host, "botsim");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (method != bhttp::verb::get) {
      request.set(bhttp::field::content_type, "application/json");
      request.body() = body;
      request.prepare_payload();
    }
    request.keep_alive(true);
    stream_.expires_after(kRequestTimeout);
    co_await bhttp::async_write(stream_, request, use_awaitable);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kResponseBodyMaxBytes);
    co_await bhttp::async_read(stream_, buffer_, parser, use_awaitable);
    bhttp::response<bhttp::string_body> response = parser.release();
    reply.status = static_cast<int>(response.result_int());
    reply.body = std::move(response.body());
    if (auto retry = response.find(bhttp::field::retry_after); retry != response.end()) {
      reply.retry_after_s = std::atoi(std::string(retry->value()).c_str());
    }
    if (!response.keep_alive()) {
      open_ = false;
      beast::error_code ignored;
      stream_.socket().close(ignored);
    }
  } catch (const std::exception& error) {
    reply.status = 0;
    reply.error = error.what();
    open_ = false;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    co_return reply;
  }
  if (reply.status < 400) co_return reply;
  if (const json::object* object = reply.Object()) {
    if (const json::value* error = object->if_contains("error"); error && error->is_object()) {
      if (const json::value* code = error->get_object().if_contains("code");
          code && code->is_string()) {
        reply.error = std::string(code->get_string());
      }
    }
  }
  co_return reply;
}

SteadyClock::duration Seconds(double seconds) {
  return std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
}

awaitable<void> SleepUntil(SteadyClock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(deadline);
  co_await timer.async_wait(use_awaitable);
}

awaitable<void> Sleep(double seconds) {
  co_await SleepUntil(SteadyClock::now() + Seconds(seconds));
}

// Solves a proof of work on `pool` and resumes the awaiting coroutine on its own executor.

// (A plain completion, not a coroutine on the pool: GCC 12 miscompiles that one.)
awaitable<std::optional<std::string>> SolveOn(asio::thread_pool& pool, Challenge challenge) {
  return asio::async_initiate<decltype(use_awaitable), void(std::optional<std::string>)>(
      [&pool](auto handler, Challenge challenge) {
        asio::post(
            pool, [handler = std::move(handler), challenge = std::move(challenge)]() mutable {
              std::optional<std::string> solution = SolveChallenge(challenge);
              const auto executor = asio::get_associated_executor(handler);
              asio::post(executor,
                         [handler = std::move(handler), solution = std::move(solution)]() mutable {
                           std::move(handler)(std::move(solution));
                         });
            });
      },
      use_awaitable, std::move(challenge));
}

}  // namespace boxoffice::tools::botsim
