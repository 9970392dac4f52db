// What the HTTP server's real-socket tests share (server_test.cpp, event_stream_test.cpp): a
// client of a few lines of blocking POSIX sockets, not Beast, so that the tests do not share the
// server's HTTP code and its mistakes; a server run on a thread; and the ServerTest fixture.
//
// Time: every server here reads a FakeClock that moves only when a test moves it, so no timeout
// fires unless the test means it to, however busy the machine. Tests wait for events (an answer,
// a close, a source being asked), never for a guessed duration, and bound nothing by wall-clock
// time: "Run returned although the clock never reached the drain timeout" is the proof that a
// stop did not wait for it. Every wait has a generous failsafe so that a broken server fails the
// test instead of hanging it.
//
// Some tests run the server on one I/O thread to know the order of events on the server: one
// io_context run by one thread runs its handlers in the order they were queued, and work a handler
// queues (a write's completion, a posted stop) is queued before anything the client does after
// seeing that handler's effect. So "the client saw B happen" proves that whatever was queued
// before B ran first; the tests say each time which event they lean on.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/server.hpp"
#include "ports/clock.hpp"

// Not in an unnamed namespace: both test files must see one ServerTest fixture, as gtest insists.
namespace boxoffice::http::test {

using namespace std::chrono_literals;

// How long any wait lasts before the test gives up: far beyond anything a working server needs
// on a busy machine, so that it only ever ends a test that would otherwise hang.
inline constexpr auto kFailsafe = std::chrono::milliseconds(60s);

// Polls `condition` until it holds or the failsafe passes.
template <typename Condition>
bool Eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + kFailsafe;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct HttpAnswer {
  int status = 0;
  std::string head;                                          // status line and headers, as received
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
  std::string ErrorCode() const {
    return std::string(boost::json::parse(body).at("error").at("code").as_string());
  }
};

class Client {
 public:
  // `receive_buffer_bytes` > 0 shrinks the socket's receive buffer (before connecting, so the
  // window is small too): a client that stops reading then stalls the server's writes soon.
  explicit Client(std::uint16_t port, int receive_buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  // One answer; `head_request` because a HEAD answer announces a length but carries no body.
  std::optional<HttpAnswer> Read(bool head_request = false) {
    std::size_t end = std::string::npos;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    HttpAnswer answer;
    answer.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    std::string_view head = answer.head;
    const auto line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 9) != "HTTP/1.1 ") return std::nullopt;
    answer.status = std::stoi(std::string(status_line.substr(9, 3)));
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      const auto eol = head.find("\r\n");
      const std::string_view line = head.substr(0, eol);
      head.remove_prefix(eol + 2);
      const auto colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      answer.headers.emplace_back(std::move(name), std::string(value));
    }
    std::size_t length = 0;
    if (auto content_length = answer.Header("content-length")) {
      length = std::stoul(*content_length);
    }
    if (head_request || answer.status == 100 || answer.status == 204) length = 0;
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    answer.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return answer;
  }

  std::optional<HttpAnswer> Request(std::string_view raw, bool head_request = false) {
    Send(raw);
    return Read(head_request);
  }

  // One chunk of a chunked body: its data, "" for the last chunk (whose empty trailer is
  // consumed too); nullopt when the server closes or `timeout` passes first.
  std::optional<std::string> ReadChunk(std::chrono::milliseconds timeout = kFailsafe) {
    std::size_t line_end = std::string::npos;
    while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
      if (!Fill(timeout)) return std::nullopt;
    }
    const std::size_t size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
    const std::size_t needed = line_end + 2 + size + 2;
    while (buffer_.size() < needed) {
      if (!Fill(timeout)) return std::nullopt;
    }
    std::string data = buffer_.substr(line_end + 2, size);
    if (buffer_.compare(line_end + 2 + size, 2, "\r\n") != 0) return std::nullopt;
    buffer_.erase(0, needed);
    return data;
  }

  // Everything until the server closes the connection (a close-delimited body).
  std::string ReadUntilClosed() {
    while (Fill(kFailsafe)) {
    }
    return std::exchange(buffer_, std::string());
  }

  // True when the server closed the connection (EOF or reset) within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout = kFailsafe) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd poll_fd{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (::poll(&poll_fd, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      char chunk[4096];
      const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (got <= 0) return true;
    }
    return false;
  }

 private:
  bool Fill(std::chrono::milliseconds timeout = kFailsafe) {
    pollfd poll_fd{fd_, POLLIN, 0};
    const int timeout_ms = static_cast<int>(timeout.count());
    if (::poll(&poll_fd, 1, timeout_ms) <= 0) return false;
    char chunk[65536];
    const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// Joins the threads a test started even when an ASSERT leaves the test early.
struct Threads {
  std::mutex mutex;
  std::vector<std::thread> threads;
  void Add(std::thread thread) {
    std::lock_guard lock(mutex);
    threads.push_back(std::move(thread));
  }
  void JoinAll() {
    for (auto& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }
  ~Threads() { JoinAll(); }
};

// Declared after a test's server: joins the workers before the server (and its io_context) is
// destroyed, even when an ASSERT leaves early. A worker may still be returning from respond(),
// holding the connection for a moment, when the client already has its answer.
struct JoinBeforeServerStops {
  Threads& workers;
  ~JoinBeforeServerStops() { workers.JoinAll(); }
};

inline std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

inline Response Text(std::string body) {
  Response response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// A server on 127.0.0.1, port 0, on a FakeClock, run by a thread for the life of the object.
class TestServer {
 public:
  explicit TestServer(const Router& router, ServerOptions options = {})
      : drain_timeout_(options.drain_timeout_s),
        server_(WithTestDefaults(std::move(options)), router, metrics_, clock_) {
    server_.Listen();
    thread_ = std::thread([this] {
      server_.Run();
      run_returned_.store(true);
    });
  }
  ~TestServer() { StopAndJoin(); }

  // Stops the server and waits for Run to return. The clock stands still meanwhile, so a stop
  // that waited for the drain timeout would never end: after the failsafe that fails the test,
  // and the clock is moved past the drain timeout so that the test still ends.
  void StopAndJoin() {
    server_.Stop();
    if (!thread_.joinable()) return;
    if (!Eventually([this] { return run_returned_.load(); })) {
      ADD_FAILURE() << "Run did not return after Stop while the clock stood still";
      clock_.Advance(drain_timeout_ + 1s);
    }
    thread_.join();
  }

  Server& server() { return server_; }
  std::uint16_t port() const { return server_.port(); }
  MetricsRegistry& metrics() { return metrics_; }
  FakeClock& clock() { return clock_; }

 private:
  static ServerOptions WithTestDefaults(ServerOptions options) {
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    if (options.threads == 0) options.threads = 2;
    return options;
  }

  const std::chrono::seconds drain_timeout_;
  MetricsRegistry metrics_;
  FakeClock clock_;
  Server server_;
  std::atomic<bool> run_returned_{false};
  std::thread thread_;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    router_.Add(Method::kGet, "/hello",
                [](const Request&, Respond respond) { respond(Text("hello")); });
    router_.Add(Method::kPost, "/echo",
                [](const Request& request, Respond respond) { respond(Text(request.body)); });
    router_.Add(Method::kGet, "/request-id",
                [](const Request& request, Respond respond) { respond(Text(request.request_id)); });
    router_.Add(Method::kGet, "/client", [](const Request& request, Respond respond) {
      respond(Text(request.client_address));
    });
    router_.Add(Method::kGet, "/events/{id}/seats", [](const Request& request, Respond respond) {
      respond(Text("event=" + std::string(request.PathParam("id"))));
    });
    router_.Add(Method::kGet, "/files/{name}", [](const Request& request, Respond respond) {
      std::string body = "path=" + request.path + ";name=" + std::string(request.PathParam("name"));
      for (const auto& [key, value] : request.query) body += ";" + key + "=" + value;
      respond(Text(std::move(body)));
    });
    router_.Add(Method::kGet, "/throw",
                [](const Request&, Respond) -> void { throw std::runtime_error("handler bug"); });
    router_.Add(Method::kGet, "/drop", [](const Request&, Respond) {});
  }

  Router router_;
};

}  // namespace boxoffice::http::test
