#include "tools/http_client.hpp"
#include "tools/coroutine_frame_warning.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <exception>

namespace boxoffice::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// A quiet stream gets a keep-alive comment every 15 s; twice that without a byte is a dead one.
constexpr auto kStreamReadTimeout = std::chrono::seconds(30);
// One event's data is a queue view of a few hundred bytes; a stream that sends more without an
// event boundary is not one.
constexpr std::size_t kStreamEventMaxBytes = 64 << 10;

// A transport failure in words: a system error's message without the source location Boost
// appends to what().
std::string TransportError(const std::exception& error) {
  if (const auto* system = dynamic_cast<const boost::system::system_error*>(&error)) {
    return system->code().message();
  }
  return error.what();
}

// The API's error code of an error answer (`{"error": {"code": ...}}`) into `reply.error`.
void ReadErrorCode(Reply& reply) {
  if (reply.status < 400) return;
  const json::object* object = reply.Object();
  if (object == nullptr) return;
  const json::value* error = object->if_contains("error");
  if (error == nullptr || !error->is_object()) return;
  const json::value* code = error->get_object().if_contains("code");
  if (code != nullptr && code->is_string()) reply.error = std::string(code->get_string());
}

void ReadResponse(bhttp::response<bhttp::string_body>& response, Reply& reply) {
  reply.status = static_cast<int>(response.result_int());
  reply.body = std::move(response.body());
  if (auto retry = response.find(bhttp::field::retry_after); retry != response.end()) {
    reply.retry_after_s = std::atoi(std::string(retry->value()).c_str());
  }
}

// Splits the text of a stream into events (separated by a blank line) and hands each event's
// data lines to `on_event`. Returns false when `on_event` asked to stop or the stream is
// malformed.
class EventSplitter {
 public:
  explicit EventSplitter(StreamEventHandler& on_event) : on_event_(on_event) {}

  bool Feed(std::string_view text) {
    for (char c : text) {
      if (c == '\r') continue;  // CRLF and LF line ends alike
      if (c != '\n') {
        line_ += c;
        if (line_.size() > kStreamEventMaxBytes) return false;
        continue;
      }
      if (line_.empty()) {
        if (has_data_ && !on_event_(data_)) return false;
        data_.clear();
        has_data_ = false;
        continue;
      }
      if (std::string_view(line_).starts_with("data:")) {
        std::string_view value = std::string_view(line_).substr(5);
        if (value.starts_with(' ')) value.remove_prefix(1);
        if (has_data_) data_ += '\n';
        data_ += value;
        has_data_ = true;
        if (data_.size() > kStreamEventMaxBytes) return false;
      }
      line_.clear();  // comments (": keep-alive") and other fields are skipped
    }
    return true;
  }

 private:
  StreamEventHandler& on_event_;
  std::string line_;
  std::string data_;
  bool has_data_ = false;
};

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

void Connection::Close() {
  open_ = false;
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
}

awaitable<void> Connection::OpenAndWrite(bhttp::verb method, const std::string& target,
                                         const std::string& body, const Headers& headers,
                                         Reply& reply, bool timed) {
  if (!timed && expiry_set_) {
    stream_.expires_never();  // a stream's deadline must not outlive it
    expiry_set_ = false;
  }
  expiry_set_ = expiry_set_ || timed;
  if (!open_) {
    if (timed) stream_.expires_after(kRequestTimeout);
    reply.connect_failed = true;
    co_await stream_.async_connect(endpoints_, use_awaitable);
    reply.connect_failed = false;
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    open_ = true;
  }
  // The head is written by hand into one reused string: Beast's serializer cost more CPU per
  // request than the rest of the client. Same bytes as Beast writes for these requests: the
  // fields in the order set, and a JSON body's Content-Type and Content-Length last.
  std::string& out = request_text_;
  out.clear();
  out += bhttp::to_string(method);
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\nHost: botsim\r\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (method != bhttp::verb::get && method != bhttp::verb::delete_) {
    out += "Content-Type: application/json\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\n\r\n";
    out += body;
  } else {
    out += "\r\n";
  }
  if (timed) stream_.expires_after(kRequestTimeout);
  co_await asio::async_write(stream_, asio::buffer(out), use_awaitable);
}

awaitable<Reply> Connection::SendOnce(bhttp::verb method, const std::string& target,
                                      const std::string& body, const Headers& headers) {
  Reply reply;
  busy_since_ = SteadyClock::now();
  try {
    co_await OpenAndWrite(method, target, body, headers, reply, timeouts_);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit_);
    co_await bhttp::async_read(stream_, buffer_, parser, use_awaitable);
    bhttp::response<bhttp::string_body> response = parser.release();
    ReadResponse(response, reply);
    if (!response.keep_alive()) Close();
  } catch (const std::exception& error) {
    busy_since_.reset();
    reply.status = 0;
    reply.error = TransportError(error);
    Close();
    co_return reply;
  }
  busy_since_.reset();
  ReadErrorCode(reply);
  co_return reply;
}

awaitable<StreamResult> Connection::Stream(std::string target, const Headers& headers,
                                           SteadyClock::time_point deadline,
                                           StreamEventHandler on_event) {
  StreamResult result;
  Reply& reply = result.reply;
  EventSplitter splitter(on_event);
  bool stopped = false;
  try {
    // A stream keeps its own read deadlines (it may be quiet for long): it is never `busy`.
    co_await OpenAndWrite(bhttp::verb::get, target, "", headers, reply, true);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit_);
    stream_.expires_at(std::min(SteadyClock::now() + kStreamReadTimeout, deadline));
    co_await bhttp::async_read_header(stream_, buffer_, parser, use_awaitable);
    if (parser.get().result_int() != 200 || !parser.chunked()) {
      // An error answer (401, 429, 503 overloaded, ...): read it as Send would.
      stream_.expires_after(kRequestTimeout);
      co_await bhttp::async_read(stream_, buffer_, parser, use_awaitable);
      bhttp::response<bhttp::string_body> response = parser.release();
      ReadResponse(response, reply);
      if (!response.keep_alive()) Close();
      ReadErrorCode(reply);
      result.end = StreamEnd::kNotStream;
      co_return result;
    }
    reply.status = 200;
    // Beast hands the chunks' bytes to this callback instead of the body; it must outlive the
    // reads below, which it does as a local of this frame.
    auto on_chunk = [&](std::uint64_t, std::string_view bytes, beast::error_code&) {
      if (!stopped && !splitter.Feed(bytes)) stopped = true;
      return bytes.size();
    };
    parser.on_chunk_body(on_chunk);
    while (!parser.is_done() && !stopped) {
      stream_.expires_at(std::min(SteadyClock::now() + kStreamReadTimeout, deadline));
      co_await bhttp::async_read_some(stream_, buffer_, parser, use_awaitable);
    }
    if (stopped) {
      Close();
      result.end = StreamEnd::kStopped;
      co_return result;
    }
    if (!parser.keep_alive()) Close();
    result.end = StreamEnd::kServerEnded;
  } catch (const std::exception& error) {
    Close();
    if (SteadyClock::now() >= deadline) {
      result.end = StreamEnd::kDeadline;
    } else {
      result.end = StreamEnd::kBroken;
      reply.error = TransportError(error);
    }
  }
  co_return result;
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

std::optional<Challenge> ChallengeOf(const Reply& reply) {
  const json::object* object = reply.Object();
  if (object == nullptr) return std::nullopt;
  const json::value* error = object->if_contains("error");
  if (error == nullptr || !error->is_object()) return std::nullopt;
  const json::value* details = error->get_object().if_contains("details");
  if (details == nullptr || !details->is_object()) return std::nullopt;
  const json::value* challenge = details->get_object().if_contains("challenge");
  if (challenge == nullptr || !challenge->is_object()) return std::nullopt;
  const json::object& fields = challenge->get_object();
  const auto text = [&fields](std::string_view name) -> const json::string* {
    const json::value* value = fields.if_contains(name);
    return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
  };
  const json::value* maxnumber = fields.if_contains("maxnumber");
  if (!text("algorithm") || !text("challenge") || !text("salt") || !text("signature") ||
      maxnumber == nullptr || !(maxnumber->is_int64() || maxnumber->is_uint64())) {
    return std::nullopt;
  }
  Challenge parsed;
  parsed.algorithm = std::string(*text("algorithm"));
  parsed.challenge = std::string(*text("challenge"));
  parsed.salt = std::string(*text("salt"));
  parsed.signature = std::string(*text("signature"));
  parsed.maxnumber = maxnumber->to_number<std::uint64_t>();
  return parsed;
}

}  // namespace boxoffice::tools
