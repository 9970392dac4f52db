// Real-socket tests of the HTTP server. The client is a few lines of blocking POSIX sockets, not
// Beast, so that the test does not share the server's HTTP code and its mistakes.
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
#include "http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ports/clock.hpp"

namespace boxoffice::http {
namespace {

using namespace std::chrono_literals;

// How long any wait lasts before the test gives up: far beyond anything a working server needs
// on a busy machine, so that it only ever ends a test that would otherwise hang.
constexpr auto kFailsafe = std::chrono::milliseconds(60s);

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

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

Response Text(std::string body) {
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

// A routed GET is answered 200 with its body and the headers every answer carries.
TEST_F(ServerTest, RoutedRequestGetsBodyAndStandardHeaders) {
  TestServer server(router_);
  Client client(server.port());
  const auto answer = client.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hello");
  EXPECT_EQ(answer->Header("content-type"), "text/plain");
  EXPECT_EQ(answer->Header("content-length"), "5");
  EXPECT_EQ(answer->Header("server"), "boxoffice");
  EXPECT_TRUE(answer->Header("date"));
  EXPECT_FALSE(answer->Header("connection"));  // HTTP/1.1 keep-alive is the default
}

// The Date header is the server's clock, not the machine's: it moves when that clock does.
TEST_F(ServerTest, DateHeaderComesFromTheServersClock) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("date"), "Fri, 15 Jan 2027 08:00:00 GMT");  // FakeClock's start
  server.clock().Advance(std::chrono::hours(47 * 24) + 90min + 5s);
  answer = client.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("date"), "Wed, 03 Mar 2027 09:30:05 GMT");
}

// A sane X-Request-Id is echoed (and seen by the handler); a missing or insane one is replaced.
TEST_F(ServerTest, RequestIdIsGeneratedOrEchoed) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/request-id", "X-Request-Id: trace-42/abc\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("x-request-id"), "trace-42/abc");
  EXPECT_EQ(answer->body, "trace-42/abc");

  answer = client.Request(Get("/request-id"));
  ASSERT_TRUE(answer);
  const std::string generated = answer->Header("x-request-id").value_or("");
  EXPECT_EQ(generated.size(), 16u);
  EXPECT_EQ(generated.find_first_not_of("0123456789abcdef"), std::string::npos) << generated;
  EXPECT_EQ(answer->body, generated);

  answer = client.Request(Get("/request-id", "X-Request-Id: " + std::string(129, 'a') + "\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("x-request-id")->size(), 16u);
  answer = client.Request(Get("/request-id", "X-Request-Id: has space\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("x-request-id")->size(), 16u);
  answer = client.Request(Get("/nope", "X-Request-Id: on-errors-too\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("x-request-id"), "on-errors-too");
}

// 404 for unknown paths and 405 + Allow for wrong methods, both in the API's JSON error shape.
TEST_F(ServerTest, NotFoundAndMethodNotAllowedUseTheErrorShape) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/nope"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(answer->Header("content-type"), "application/json");
  const auto not_found = boost::json::parse(answer->body);
  EXPECT_EQ(not_found.at("error").at("code"), "not_found");
  EXPECT_TRUE(not_found.at("error").at("message").is_string());
  EXPECT_TRUE(not_found.at("error").at("details").is_object());

  answer = client.Request("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 405);
  EXPECT_EQ(answer->Header("allow"), "GET, HEAD");
  EXPECT_EQ(answer->ErrorCode(), "method_not_allowed");
  EXPECT_EQ(boost::json::parse(answer->body).at("error").at("details").at("allowed"),
            boost::json::parse(R"(["GET","HEAD"])"));
  // A trailing slash is another path.
  answer = client.Request(Get("/hello/"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
}

// `{param}` segments reach the handler through PathParam.
TEST_F(ServerTest, PathParametersReachTheHandler) {
  TestServer server(router_);
  Client client(server.port());
  const auto answer = client.Request(Get("/events/evt_42/seats"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "event=evt_42");
}

// Path and query are percent-decoded ('+' is a space in the query only); a bad escape is 400.
TEST_F(ServerTest, PathAndQueryArePercentDecoded) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/files/a%20b+c%C3%BC?x=1%2B2&y=hello+world&flag&=v"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "path=/files/a b+cü;name=a b+cü;x=1+2;y=hello world;flag=;=v");

  answer = client.Request(Get("/files/%zz"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  EXPECT_EQ(answer->ErrorCode(), "malformed_request");
  answer = client.Request(Get("/files/x?q=%4"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  answer = client.Request(Get("/files/nul%00"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  // Absolute-form targets are served by their path.
  answer = client.Request(Get("http://example.com/events/e1/seats"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "event=e1");
}

// A Content-Length over the limit is 413 from the header alone: no body sent, no handler, close.
TEST_F(ServerTest, DeclaredBodyOverLimitIs413WithoutReadingIt) {
  std::atomic<int> calls{0};
  router_.Add(Method::kPost, "/upload", [&calls](const Request&, Respond respond) {
    ++calls;
    respond(Text("stored"));
  });
  ServerOptions options;
  options.body_limit_bytes = 1024;
  TestServer server(router_, options);
  Client client(server.port());
  const auto answer = client.Request(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nX-Request-Id: big\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 413);
  EXPECT_EQ(answer->ErrorCode(), "payload_too_large");
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_EQ(answer->Header("x-request-id"), "big");
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(calls.load(), 0);

  // At the limit is fine.
  Client second(server.port());
  const auto ok = second.Request(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// A chunked body that grows past the limit is 413 too.
TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  ServerOptions options;
  options.body_limit_bytes = 16;
  TestServer server(router_, options);
  Client client(server.port());
  const auto answer = client.Request(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 413);
  // And one within it is reassembled for the handler.
  Client second(server.port());
  const auto ok = second.Request(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "abcde");
}

// One connection serves many requests in turn (keep-alive), with bodies both ways.
TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer server(router_);
  Client client(server.port());
  for (int i = 0; i < 5; ++i) {
    const std::string body = "message " + std::to_string(i);
    const auto answer = client.Request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                       std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(answer) << i;
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, body);
  }
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_connections_open", "").Value(), 1);
}

// Pipelined requests are handled ahead of a slow first one, yet answered in request order.
TEST_F(ServerTest, PipelinedAnswersKeepRequestOrder) {
  std::atomic<int> fast_calls{0};
  Threads workers;
  router_.Add(Method::kGet, "/slow", [&](const Request&, Respond respond) {
    workers.Add(std::thread([&fast_calls, respond = std::move(respond)] {
      // Answer only once the later requests were handled, proving they were read ahead.
      Eventually([&fast_calls] { return fast_calls.load() >= 2; });
      respond(Text("slow after " + std::to_string(fast_calls.load()) + " fast"));
    }));
  });
  router_.Add(Method::kGet, "/fast", [&](const Request& request, Respond respond) {
    ++fast_calls;
    respond(Text("fast " + std::string(request.Query("n").value_or("?"))));
  });
  TestServer server(router_);
  const JoinBeforeServerStops join_workers{workers};
  Client client(server.port());
  client.Send(Get("/slow") + Get("/fast?n=1") + Get("/fast?n=2"));
  const auto first = client.Read();
  const auto second = client.Read();
  const auto third = client.Read();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "slow after 2 fast");
  EXPECT_EQ(second->body, "fast 1");
  EXPECT_EQ(third->body, "fast 2");
}

// Beyond pipeline_limit, reading pauses and resumes as answers drain; all come back in order.
TEST_F(ServerTest, PipelineLimitPausesAndResumes) {
  ServerOptions options;
  options.pipeline_limit = 2;
  TestServer server(router_, options);
  Client client(server.port());
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += Get("/files/f" + std::to_string(i));
  client.Send(burst);
  for (int i = 0; i < 20; ++i) {
    const auto answer = client.Read();
    ASSERT_TRUE(answer) << i;
    EXPECT_EQ(answer->body, "path=/files/f" + std::to_string(i) + ";name=f" + std::to_string(i));
  }
}

// Past max_connections a new connection gets 503 `overloaded` + Retry-After: 1, is closed, counted.
TEST_F(ServerTest, ConnectionCapAnswers503) {
  ServerOptions options;
  options.max_connections = 1;
  TestServer server(router_, options);
  Client first(server.port());
  ASSERT_TRUE(first.Request(Get("/hello")));  // now surely accepted and counted
  Client second(server.port());
  const auto answer = second.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(answer->ErrorCode(), "overloaded");
  EXPECT_EQ(answer->Header("retry-after"), "1");
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_TRUE(answer->Header("x-request-id"));
  EXPECT_TRUE(second.WaitClosed());
  EXPECT_EQ(server.metrics().GetCounter("boxoffice_http_connections_rejected_total", "").Value(),
            1u);
  // The first connection is unaffected.
  const auto again = first.Request(Get("/hello"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// Stop() mid-request: accepting() turns false, idle connections close, the request still gets
// its answer, and Run returns without waiting for the drain timeout (the clock never reaches it).
TEST_F(ServerTest, GracefulStopFinishesTheRequestInFlight) {
  std::promise<void> handler_started;
  std::promise<void> may_answer;
  const std::shared_future<void> answer_allowed = may_answer.get_future().share();
  Threads workers;
  router_.Add(Method::kGet, "/slow", [&](const Request&, Respond respond) {
    handler_started.set_value();
    workers.Add(std::thread([answer_allowed, respond = std::move(respond)] {
      answer_allowed.wait_for(kFailsafe);
      respond(Text("finished"));
    }));
  });
  // One I/O thread: the stop is queued for both connections at once, so by the time the idle one
  // is seen closed the busy one has seen the stop too, and its answer is its last.
  ServerOptions options;
  options.threads = 1;
  auto server = std::make_unique<TestServer>(router_, options);
  const JoinBeforeServerStops join_workers{workers};
  Client busy(server->port());
  Client idle(server->port());
  ASSERT_TRUE(idle.Request(Get("/hello")));  // an idle keep-alive connection
  busy.Send(Get("/slow"));
  ASSERT_EQ(handler_started.get_future().wait_for(kFailsafe), std::future_status::ready);

  std::future<void> stopped = std::async(std::launch::async, [&server] { server->StopAndJoin(); });
  EXPECT_TRUE(Eventually([&server] { return !server->server().accepting(); }));
  EXPECT_TRUE(idle.WaitClosed());  // idle connections are closed at once
  may_answer.set_value();

  const auto answer = busy.Read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "finished");
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_EQ(stopped.wait_for(kFailsafe), std::future_status::ready);
}

// Handlers that answer from their own threads (as the ledger writer and order workers do) may
// answer while the server is being torn down, or after it is gone: the answers that still have
// a connection are delivered, the others are dropped, and nothing touches a freed io_context
// (this runs under AddressSanitizer and ThreadSanitizer, which would see that). The answers are
// let go in waves: during the drain, as the drain times out, once Run has returned (while the
// server is being destroyed), and after it is gone.
TEST_F(ServerTest, ConcurrentAnswersDuringTeardownAreSafe) {
  constexpr int kRequests = 24;
  constexpr int kWaves = 4;
  constexpr auto kDrainTimeout = 10s;
  for (int round = 0; round < 3; ++round) {
    Threads workers;  // joined after the server is destroyed: that is the point
    std::array<std::promise<void>, kWaves> waves;
    std::array<std::shared_future<void>, kWaves> wave_started;
    for (int wave = 0; wave < kWaves; ++wave) wave_started[wave] = waves[wave].get_future().share();
    std::atomic<int> started{0};
    router_.Add(Method::kGet, "/late" + std::to_string(round),
                [&](const Request& request, Respond respond) {
                  const int client = std::stoi(std::string(request.Query("client").value_or("0")));
                  const std::shared_future<void> wave = wave_started[client * kWaves / kRequests];
                  workers.Add(std::thread([wave, respond = std::move(respond)] {
                    wave.wait_for(kFailsafe);
                    respond(Text("late"));
                  }));
                  ++started;
                });
    MetricsRegistry metrics;
    FakeClock clock;
    ServerOptions options;
    options.listen_port = 0;
    options.threads = 2;
    options.drain_timeout_s = kDrainTimeout;
    auto server = std::make_unique<Server>(options, router_, metrics, clock);
    server->Listen();
    std::atomic<bool> run_returned{false};
    // Runs the server, then destroys it at once, while the third wave answers.
    std::thread runner([&server, &run_returned] {
      server->Run();
      run_returned.store(true);
      server.reset();
    });
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kRequests; ++i) {
      clients.push_back(std::make_unique<Client>(server->port()));
      clients.back()->Send(Get("/late" + std::to_string(round) + "?client=" + std::to_string(i)));
    }
    EXPECT_TRUE(Eventually([&started] { return started.load() == kRequests; }));
    server->Stop();  // Run has not returned: the clock has not reached the drain timeout

    waves[0].set_value();
    // The first wave answered within the drain: it was delivered.
    const auto first = clients.front()->Read();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->body, "late");

    waves[1].set_value();
    clock.Advance(kDrainTimeout + 1s);  // the next sweep ends the drain, racing the second wave
    EXPECT_TRUE(Eventually([&run_returned] { return run_returned.load(); }));
    waves[2].set_value();
    runner.join();
    waves[3].set_value();
    workers.JoinAll();
  }
}

// Stop() before Run(): Run returns at once instead of serving; the clock never moves, so it did
// not wait for any timeout.
TEST_F(ServerTest, StopBeforeRunReturnsPromptly) {
  MetricsRegistry metrics;
  FakeClock clock;
  ServerOptions options;
  options.listen_port = 0;
  options.threads = 2;
  Server server(options, router_, metrics, clock);
  server.Listen();
  server.Stop();
  EXPECT_FALSE(server.accepting());
  std::future<void> ran = std::async(std::launch::async, [&server] { server.Run(); });
  EXPECT_EQ(ran.wait_for(kFailsafe), std::future_status::ready);
}

// X-Forwarded-For counts only from trusted peers: then its right-most untrusted address.
TEST_F(ServerTest, ForwardedForIsTrustedOnlyFromTrustedProxies) {
  ServerOptions trusting;
  trusting.trusted_proxies = {"127.0.0.0/8", "10.0.0.0/8"};
  TestServer proxied(router_, trusting);
  Client client(proxied.port());
  auto client_of = [&client](std::string_view headers) {
    const auto answer = client.Request(Get("/client", headers));
    return answer ? answer->body : "<no answer>";
  };
  EXPECT_EQ(client_of(""), "127.0.0.1");
  EXPECT_EQ(client_of("X-Forwarded-For: 203.0.113.7\r\n"), "203.0.113.7");
  EXPECT_EQ(client_of("X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.1.1.1\r\n"), "203.0.113.7");
  EXPECT_EQ(client_of("X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 10.0.0.9\r\n"),
            "198.51.100.1");
  EXPECT_EQ(client_of("X-Forwarded-For: 10.0.0.1, 127.0.0.5\r\n"), "10.0.0.1");  // all trusted
  EXPECT_EQ(client_of("X-Forwarded-For: 203.0.113.7, not-an-ip, 10.0.0.2\r\n"), "10.0.0.2");
  EXPECT_EQ(client_of("X-Forwarded-For: ::ffff:203.0.113.8\r\n"), "203.0.113.8");

  TestServer direct(router_);  // no trusted proxies: the header is the client's own claim
  Client direct_client(direct.port());
  const auto answer = direct_client.Request(Get("/client", "X-Forwarded-For: 203.0.113.7\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "127.0.0.1");
}

// An invalid trusted-proxy CIDR is refused when the server is made, not silently ignored.
TEST_F(ServerTest, InvalidTrustedProxyIsRejected) {
  MetricsRegistry metrics;
  ServerOptions options;
  options.trusted_proxies = {"10.0.0.0/99"};
  EXPECT_THROW(Server(options, router_, metrics), std::invalid_argument);
}

// Answers are counted and timed by route pattern, method and status; unrouted as "unmatched".
TEST_F(ServerTest, RequestsAreCountedInMetrics) {
  TestServer server(router_);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/events/e1/seats")));
  ASSERT_TRUE(client.Request(Get("/events/e2/seats")));
  ASSERT_TRUE(client.Request(Get("/nope")));
  const std::string text = server.metrics().Render();
  EXPECT_NE(text.find("boxoffice_http_requests_total{route=\"/events/{id}/seats\",method=\"GET\","
                      "status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("boxoffice_http_requests_total{route=\"unmatched\",method=\"GET\","
                      "status=\"404\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("boxoffice_http_request_duration_seconds_count{route=\"/events/{id}/"
                      "seats\",method=\"GET\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("boxoffice_http_connections_open 1\n"), std::string::npos) << text;
}

// A handler that throws or drops Respond yields 500 `internal`, and the connection lives on.
TEST_F(ServerTest, HandlerFailuresBecome500) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/throw"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(answer->ErrorCode(), "internal");
  answer = client.Request(Get("/drop"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 500);
  answer = client.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
}

// HEAD is served by the GET route with its Content-Length but without a body.
TEST_F(ServerTest, HeadHasLengthButNoBody) {
  TestServer server(router_);
  Client client(server.port());
  const auto answer = client.Request("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", true);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->Header("content-length"), "5");
  // The next answer on the connection starts right where the HEAD answer ended.
  const auto next = client.Request(Get("/hello"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello");
}

// Bytes that are not HTTP get 400 `malformed_request` and the connection is closed.
TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  TestServer server(router_);
  Client client(server.port());
  const auto answer = client.Request("GET /hello HTTP/1.1\r\nBad Header Line\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  EXPECT_EQ(answer->ErrorCode(), "malformed_request");
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

// A header block over header_limit_bytes is 431 `header_too_large`, then close.
TEST_F(ServerTest, OversizedHeaderIs431) {
  ServerOptions options;
  options.header_limit_bytes = 1024;
  TestServer server(router_, options);
  Client client(server.port());
  const auto answer = client.Request(Get("/hello", "X-Big: " + std::string(2000, 'b') + "\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 431);
  EXPECT_EQ(answer->ErrorCode(), "header_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

// A request that does not arrive whole within read_timeout_s of its first byte is dropped
// (slow-loris bound), and one still within its time is not. The interim 100 Continue is sent once
// the server has read a request's header, so it shows when on the clock each request began.
TEST_F(ServerTest, ReadTimeoutClosesSlowRequests) {
  ServerOptions options;
  options.read_timeout_s = 10s;
  options.idle_timeout_s = std::chrono::hours(1);  // never the reason here
  options.threads = 1;
  TestServer server(router_, options);
  const std::string header =
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  Client early(server.port());
  const auto early_interim = early.Request(header);  // begun at t0: due by t0 + 10 s
  ASSERT_TRUE(early_interim);
  ASSERT_EQ(early_interim->status, 100);
  server.clock().Advance(5s);
  Client late(server.port());
  const auto late_interim = late.Request(header);  // begun at t0 + 5 s: due by t0 + 15 s
  ASSERT_TRUE(late_interim);
  ASSERT_EQ(late_interim->status, 100);

  server.clock().Advance(5s + 1ms);
  EXPECT_TRUE(early.WaitClosed());
  // One I/O thread: the sweep that closed `early` judged `late` before its body could arrive,
  // and found it within its time.
  const auto answer = late.Request("ping");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ping");
}

// A keep-alive connection with nothing to do is closed after idle_timeout_s, and one idle for
// less is not.
TEST_F(ServerTest, IdleTimeoutClosesKeepAliveConnections) {
  ServerOptions options;
  options.idle_timeout_s = 10s;
  options.threads = 1;
  TestServer server(router_, options);
  Client early(server.port());
  Client late(server.port());
  ASSERT_TRUE(early.Request(Get("/hello")));
  // One I/O thread: `late` is answered after the completion of early's write ran, which is when
  // early's idle time began (at t0).
  ASSERT_TRUE(late.Request(Get("/hello")));
  server.clock().Advance(5s);
  ASSERT_TRUE(late.Request(Get("/hello")));  // idle from t0 + 5 s on

  server.clock().Advance(5s + 1ms);
  EXPECT_TRUE(early.WaitClosed());
  // As in ReadTimeoutClosesSlowRequests: the sweep that closed `early` spared `late`.
  const auto answer = late.Request(Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "hello");
}

// `Expect: 100-continue` gets the interim answer before the client sends its body.
TEST_F(ServerTest, ExpectContinueIsAnswered) {
  TestServer server(router_);
  Client client(server.port());
  const auto interim = client.Request(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
      "Content-Length: 4\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  const auto answer = client.Request("ping");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ping");
}

// HTTP/1.0 without keep-alive, and Connection: close, end the connection after the answer.
TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  TestServer server(router_);
  Client old_client(server.port());
  auto answer = old_client.Request("GET /hello HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_TRUE(old_client.WaitClosed());

  Client closing(server.port());
  answer = closing.Request(Get("/hello", "Connection: close\r\n") + Get("/hello"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("connection"), "close");
  EXPECT_FALSE(closing.Read());  // the request after "close" is not answered: EOF instead

  Client keep(server.port());
  answer = keep.Request("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("connection"), "keep-alive");
  ASSERT_TRUE(keep.Request("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

// Collects log lines, for the access log test.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    lines_.emplace_back(message.payload.data(), message.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// With access_log on, each request is logged as one valid JSON line with the agreed fields.
TEST_F(ServerTest, AccessLogWritesOneJsonLinePerRequest) {
  auto sink = std::make_shared<CaptureSink>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  {
    ServerOptions options;
    options.access_log = true;
    TestServer server(router_, options);
    Client client(server.port());
    ASSERT_TRUE(client.Request(Get("/events/e%2D1/seats", "X-Request-Id: log-me\r\n")));
    ASSERT_TRUE(client.Request(Get("/nope\"quoted\"")));
  }
  spdlog::set_default_logger(previous);

  const auto lines = sink->Lines();
  ASSERT_EQ(lines.size(), 2u);
  const auto first = boost::json::parse(lines[0]).as_object();
  EXPECT_TRUE(first.at("ts").as_string().ends_with("Z"));
  EXPECT_EQ(first.at("level"), "info");
  EXPECT_EQ(first.at("msg"), "request");
  EXPECT_EQ(first.at("method"), "GET");
  EXPECT_EQ(first.at("path"), "/events/e-1/seats");
  EXPECT_EQ(first.at("route"), "/events/{id}/seats");
  EXPECT_EQ(first.at("status"), 200);
  EXPECT_TRUE(first.at("duration_us").is_int64());
  EXPECT_EQ(first.at("request_id"), "log-me");
  EXPECT_EQ(first.at("client"), "127.0.0.1");
  const auto second = boost::json::parse(lines[1]).as_object();
  EXPECT_EQ(second.at("path"), "/nope\"quoted\"");
  EXPECT_EQ(second.at("route"), "unmatched");
  EXPECT_EQ(second.at("status"), 404);
}

// Post() runs a task on the server's I/O threads.
TEST_F(ServerTest, PostRunsTasks) {
  TestServer server(router_);
  std::promise<std::thread::id> ran;
  server.server().Post([&ran] { ran.set_value(std::this_thread::get_id()); });
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

// Many clients at once on many threads each get their own answers (run under TSan in CI).
TEST_F(ServerTest, ConcurrentClientsGetTheirOwnAnswers) {
  TestServer server(router_);
  constexpr int kClients = 8;
  constexpr int kRequestsPerClient = 50;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client(server.port());
      for (int i = 0; i < kRequestsPerClient; ++i) {
        const std::string body = std::to_string(c) + ":" + std::to_string(i);
        const auto answer = client.Request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                           std::to_string(body.size()) + "\r\n\r\n" + body);
        if (answer && answer->body == body) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), kClients * kRequestsPerClient);
}

// ---- Event streams ----------------------------------------------------------------------------

// What a test's stream shows: `value`, sent whenever it changed since the last event; the stream
// ends after `final_value`. The test sets the fields it needs before the server starts.
struct StreamState {
  std::atomic<int> value{0};
  std::atomic<int> calls{0};    // how often the server asked the source
  std::atomic<int> sources{0};  // sources alive (copies included)
  int final_value = -1;
  std::size_t padding_bytes = 0;  // makes events large, so a client that does not read stalls
  bool throw_on_second_call = false;
};

class CountedSource {
 public:
  explicit CountedSource(std::shared_ptr<StreamState> state) : state_(std::move(state)) {
    ++state_->sources;
  }
  CountedSource(const CountedSource& other) : state_(other.state_), last_(other.last_) {
    ++state_->sources;
  }
  CountedSource(CountedSource&& other) noexcept : state_(other.state_), last_(other.last_) {
    ++state_->sources;
  }
  CountedSource& operator=(const CountedSource&) = delete;
  CountedSource& operator=(CountedSource&&) = delete;
  ~CountedSource() { --state_->sources; }

  StreamStep operator()() {
    if (++state_->calls == 2 && state_->throw_on_second_call) throw std::runtime_error("source");
    const int value = state_->value.load();
    if (value == last_) return StreamStep::NoChange();
    last_ = value;
    std::string data(state_->padding_bytes, 'x');
    data += std::to_string(value);
    return StreamStep::Event(std::move(data), value == state_->final_value);
  }

 private:
  std::shared_ptr<StreamState> state_;
  int last_ = -1;
};

Handler StreamHandler(std::shared_ptr<StreamState> state, std::chrono::milliseconds interval) {
  return [state, interval](const Request&, Respond respond) {
    Response response;
    response.SetHeader("Content-Type", "application/json");  // the server's own type wins
    response.stream = EventStream{CountedSource(state), interval};
    respond(std::move(response));
  };
}

std::string Frame(int value) { return "data: " + std::to_string(value) + "\n\n"; }

// Waits until the server next asks the stream's source. The source is not asked while a write is
// in flight, so this also proves that the write of whatever the client last read is done, and
// that the stream's heartbeat is counted from there.
bool NextTick(const StreamState& state) {
  const int calls = state.calls.load();
  return Eventually([&state, calls] { return state.calls.load() > calls; });
}

// A stream answer: the event-stream head without a length, the first event at once, later
// changes as chunks, the last chunk after the final event; then the connection serves on.
TEST_F(ServerTest, StreamSendsHeadEventsAndItsEnd) {
  auto state = std::make_shared<StreamState>();
  state->final_value = 2;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  const auto head = client.Request(Get("/stream"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  EXPECT_EQ(head->Header("cache-control"), "no-store");
  EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(head->Header("content-length"));
  EXPECT_TRUE(head->Header("x-request-id"));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  state->value = 1;
  EXPECT_EQ(client.ReadChunk(), Frame(1));
  state->value = 2;
  EXPECT_EQ(client.ReadChunk(), Frame(2));
  EXPECT_EQ(client.ReadChunk(), "");  // the last chunk: the stream is over
  EXPECT_TRUE(Eventually([&] { return state->sources.load() == 0; }));  // released

  const auto next = client.Request(Get("/hello"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello");
  EXPECT_EQ(server.metrics().GetCounter("boxoffice_http_stream_events_total", "").Value(), 3u);
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_streams_open", "").Value(), 0);
}

// Multi-line data becomes one "data:" field per line, whatever the line ending.
TEST_F(ServerTest, StreamEventDataIsFramedLineByLine) {
  router_.Add(Method::kGet, "/lines", [](const Request&, Respond respond) {
    Response response;
    response.stream = EventStream{[] { return StreamStep::Event("a\nb\r\nc\rd", true); }, 20ms};
    respond(std::move(response));
  });
  TestServer server(router_);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/lines")));
  EXPECT_EQ(client.ReadChunk(), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(client.ReadChunk(), "");
}

// A stream with nothing new sends a comment line once stream_heartbeat_ms has passed on the clock
// since its last write, and not before; changes still go out at once.
TEST_F(ServerTest, QuietStreamSendsHeartbeats) {
  auto state = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  ServerOptions options;
  options.stream_heartbeat_ms = 15s;
  TestServer server(router_, options);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/stream")));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s - 1ms);
  // Two ticks: the second surely began after the clock moved, and found no heartbeat due yet.
  ASSERT_TRUE(NextTick(*state));
  ASSERT_TRUE(NextTick(*state));
  state->value = 1;
  EXPECT_EQ(client.ReadChunk(), Frame(1));  // the change, not a heartbeat

  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s);
  EXPECT_EQ(client.ReadChunk(), ": keep-alive\n\n");
  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s);
  EXPECT_EQ(client.ReadChunk(), ": keep-alive\n\n");
  state->value = 7;
  EXPECT_EQ(client.ReadChunk(), Frame(7));  // the clock stands still: no heartbeat comes first
}

// Beyond max_streams a stream is answered 503 with Retry-After; a place freed is usable again.
TEST_F(ServerTest, StreamBeyondTheCapIs503) {
  auto state = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  ServerOptions options;
  options.max_streams = 1;
  TestServer server(router_, options);
  auto first = std::make_unique<Client>(server.port());
  ASSERT_TRUE(first->Request(Get("/stream")));
  ASSERT_EQ(first->ReadChunk(), Frame(0));

  Client second(server.port());
  const auto refused = second.Request(Get("/stream"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->ErrorCode(), "overloaded");
  EXPECT_EQ(refused->Header("retry-after"), "5");
  EXPECT_EQ(server.metrics().GetCounter("boxoffice_http_streams_rejected_total", "").Value(), 1u);
  const auto plain = second.Request(Get("/hello"));  // the connection itself is fine
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);

  first.reset();  // hangs up
  Gauge& open = server.metrics().GetGauge("boxoffice_http_streams_open", "");
  ASSERT_TRUE(Eventually([&] { return open.Value() == 0; }));
  const auto again = second.Request(Get("/stream"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(second.ReadChunk(), Frame(0));
}

// A client that hangs up mid-stream frees the stream: its source is dropped, the gauge falls.
TEST_F(ServerTest, ClientHangingUpEndsTheStream) {
  auto state = std::make_shared<StreamState>();
  // An interval of an hour and a clock that stands still: nothing is ever written to the stream,
  // so only the read it keeps outstanding can notice the client going.
  router_.Add(Method::kGet, "/stream", StreamHandler(state, std::chrono::hours(1)));
  TestServer server(router_);
  Gauge& open = server.metrics().GetGauge("boxoffice_http_streams_open", "");
  {
    Client client(server.port());
    ASSERT_TRUE(client.Request(Get("/stream")));
    ASSERT_EQ(client.ReadChunk(), Frame(0));
    EXPECT_EQ(open.Value(), 1);
    EXPECT_EQ(state->sources.load(), 1);
  }
  EXPECT_TRUE(Eventually([&] { return state->sources.load() == 0; }));
  EXPECT_EQ(open.Value(), 0);
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_connections_open", "").Value(), 0);
}

// A client that stops reading stalls the one write in flight; meanwhile the source is not asked,
// so nothing queues up, and once the client reads again the next event is the latest state.
TEST_F(ServerTest, SlowReaderGetsTheLatestStateNotABacklog) {
  auto state = std::make_shared<StreamState>();
  // Events as large as the kernel's largest send buffer here (tcp_wmem: 4 MiB), so that at most
  // a few fit in the socket buffers before the write in flight stalls.
  state->padding_bytes = 4 << 20;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 10ms));
  // A second stream that never changes: its source is asked on every tick of its own timer, as
  // often as the first stream's timer ticks, so it counts the ticks the first one lets pass.
  auto metronome = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/metronome", StreamHandler(metronome, 10ms));
  ServerOptions options;
  options.threads = 1;  // both timers on one thread, ticking alike
  TestServer server(router_, options);
  Client ticks(server.port());
  ASSERT_TRUE(ticks.Request(Get("/metronome")));
  ASSERT_EQ(ticks.ReadChunk(), Frame(0));
  Client client(server.port(), 4096);
  client.Send(Get("/stream"));
  ASSERT_TRUE(Eventually([&] { return state->calls.load() >= 1; }));  // the stream has begun
  // A new state on every tick for 40 ticks while the client does not read. Without the one
  // write in flight rule the source would be asked on each of them.
  int value = 0;
  for (int round = 0; round < 40; ++round) {
    state->value = ++value;
    ASSERT_TRUE(NextTick(*metronome));
  }
  EXPECT_LE(state->calls.load(), 6);

  const auto head = client.Read();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
  const std::string latest = std::string(state->padding_bytes, 'x') + std::to_string(value);
  bool got_latest = false;
  int events = 0;
  while (!got_latest) {
    const auto chunk = client.ReadChunk();
    ASSERT_TRUE(chunk);
    ++events;
    got_latest = *chunk == "data: " + latest + "\n\n";
  }
  EXPECT_LE(events, 6);  // of the 40 states, those in between were never sent
}

// SIGTERM-style stop with streams open: a reading client gets the stream's end, one that does not
// read is dropped once the stop grace (1 s) has passed on the clock, and Run returns without the
// drain timeout (25 s), which the clock never reaches here.
TEST_F(ServerTest, GracefulStopEndsOpenStreamsPromptly) {
  auto quiet = std::make_shared<StreamState>();
  auto large = std::make_shared<StreamState>();
  // Four times the largest send buffer here (tcp_wmem: 4 MiB): the first write stalls for good.
  large->padding_bytes = 16 << 20;
  router_.Add(Method::kGet, "/quiet", StreamHandler(quiet, 20ms));
  router_.Add(Method::kGet, "/large", StreamHandler(large, 10ms));
  ServerOptions options;
  options.threads = 1;
  auto server = std::make_unique<TestServer>(router_, options);
  Client reading(server->port());
  ASSERT_TRUE(reading.Request(Get("/quiet")));
  ASSERT_EQ(reading.ReadChunk(), Frame(0));
  Client stalled(server->port(), 4096);
  stalled.Send(Get("/large"));
  ASSERT_TRUE(Eventually([&] { return large->calls.load() >= 1; }));  // its write is in flight

  std::future<void> stopped = std::async(std::launch::async, [&server] { server->StopAndJoin(); });
  EXPECT_EQ(reading.ReadChunk(), "");
  EXPECT_TRUE(reading.WaitClosed());
  // One I/O thread: the stop reached `stalled` before `reading` could be closed, so its grace
  // counts from the clock as it stands. Two seconds pass that, and neither the write timeout
  // (30 s) nor the drain timeout.
  server->clock().Advance(2s);
  EXPECT_EQ(stopped.wait_for(kFailsafe), std::future_status::ready);
  EXPECT_EQ(quiet->sources.load(), 0);
  EXPECT_EQ(large->sources.load(), 0);
}

// HTTP/1.0 has no chunking: the stream is delimited by the close.
TEST_F(ServerTest, Http10StreamIsCloseDelimited) {
  auto state = std::make_shared<StreamState>();
  state->final_value = 1;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  const auto head = client.Request("GET /stream HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->Header("transfer-encoding"));
  EXPECT_EQ(head->Header("connection"), "close");
  // The head and the first event go out in one write, so the source has been asked already.
  state->value = 1;
  EXPECT_EQ(client.ReadUntilClosed(), Frame(0) + Frame(1));
}

// A source that throws ends its stream cleanly; HEAD on a stream route gets the head alone.
TEST_F(ServerTest, StreamSourceFailureEndsTheStreamAndHeadHasNoEvents) {
  auto state = std::make_shared<StreamState>();
  state->throw_on_second_call = true;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/stream")));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  EXPECT_EQ(client.ReadChunk(), "");
  const auto head = client.Request("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n", true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  EXPECT_EQ(head->Header("cache-control"), "no-store");
  EXPECT_EQ(head->Header("content-length"), "0");
  EXPECT_EQ(client.Request(Get("/hello"))->body, "hello");  // nothing was left on the wire
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_streams_open", "").Value(), 0);
}

}  // namespace
}  // namespace boxoffice::http
