// Real-socket tests of the HTTP server: routing, limits, keep-alive and pipelining, timeouts and
// the graceful stop. Event streams are tested in event_stream_test.cpp; the client, the test
// server and how these tests treat time are in server_test_support.hpp.
#include "http/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/json/parse.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server_test_support.hpp"
#include "ports/clock.hpp"

namespace boxoffice::http::test {
namespace {

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
  EXPECT_EQ(answer->Header("allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(answer->ErrorCode(), "method_not_allowed");
  EXPECT_EQ(boost::json::parse(answer->body).at("error").at("details").at("allowed"),
            boost::json::parse(R"(["GET","HEAD","OPTIONS"])"));
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

}  // namespace
}  // namespace boxoffice::http::test
