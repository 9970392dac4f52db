// What an attacker sends to the HTTP server, over a real socket, and what must come of it: the
// holes issue 17 found (smuggling through Transfer-Encoding, unbounded chunk lines, pipelined
// answers without back-pressure, %2F routing, missing Host) and the status codes RFC 9110/9112
// ask for (414, 501, OPTIONS), plus CORS when an operator turns it on.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <string>

#include "http/server_test_support.hpp"

namespace boxoffice::http::test {
namespace {

std::string Post(std::string_view target, std::string_view headers, std::string_view body) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(headers) +
         "\r\n" + std::string(body);
}

class HostileInputTest : public ServerTest {
 protected:
  HostileInputTest() {
    // Every header the handler was given, names and values: what a handler would believe.
    router_.Add(Method::kPost, "/headers", [](const Request& request, Respond respond) {
      std::string seen;
      for (const auto& [name, value] : request.headers) seen += name + "=" + value + ";";
      respond(Text(std::move(seen)));
    });
  }
};

// The smuggled request inside the body must never be answered: the connection closes after 400.
TEST_F(HostileInputTest, TransferEncodingNotEndingInChunkedIs400AndTheBodyIsNeverARequest) {
  TestServer server(router_);
  for (const char* coding : {"gzip", "xchunked", "chunked, gzip"}) {
    Client client(server.port());
    const auto answer = client.Request(
        Post("/echo", "Transfer-Encoding: " + std::string(coding) + "\r\n", Get("/hello")));
    ASSERT_TRUE(answer) << coding;
    EXPECT_EQ(answer->status, 400) << coding;
    EXPECT_EQ(answer->ErrorCode(), "bad_transfer_encoding") << coding;
    EXPECT_EQ(answer->Header("connection"), "close");
    // Nothing but the close follows: had the body been parsed as a request, "hello" would.
    EXPECT_EQ(client.ReadUntilClosed(), "") << coding;
  }
}

TEST_F(HostileInputTest, AnUnimplementedTransferCodingIs501) {
  TestServer server(router_);
  Client client(server.port());
  const auto answer =
      client.Request(Post("/echo", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 501);
  EXPECT_EQ(answer->ErrorCode(), "unsupported_transfer_coding");
  EXPECT_TRUE(client.WaitClosed());
}

// Beast buffers a chunk-size line (with its extensions) and a trailer whole, however long; the
// server stops at the header limit (before the fix: 150 MB buffered, and the request succeeded).
TEST_F(HostileInputTest, ChunkLinesAndTrailersAreBoundedByTheHeaderLimit) {
  ServerOptions options;
  options.header_limit_bytes = 4096;
  TestServer server(router_, options);
  const std::string flood(64 << 10, 'x');
  const std::string bodies[] = {
      "5;" + flood,                              // a chunk extension without end
      "5\r\nhello\r\n0\r\nX-Trailer: " + flood,  // a trailer field without end
  };
  for (const std::string& body : bodies) {
    Client client(server.port());
    const auto answer = client.Request(Post("/echo", "Transfer-Encoding: chunked\r\n", body));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400);
    EXPECT_EQ(answer->ErrorCode(), "chunk_line_too_large");
    EXPECT_EQ(boost::json::parse(answer->body).at("error").at("details").at("limit_bytes"), 4096);
    EXPECT_TRUE(client.WaitClosed());
  }
  // Within the limit, extensions and trailers are fine; the trailer's fields reach no handler.
  Client client(server.port());
  const auto answer = client.Request(Post("/headers", "Transfer-Encoding: chunked\r\n",
                                          "5;name=value\r\nhello\r\n0\r\nAuthorization: Bearer x"
                                          "\r\n\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body.find("authorization"), std::string::npos) << answer->body;
  EXPECT_NE(answer->body.find("transfer-encoding=chunked"), std::string::npos);
}

TEST_F(HostileInputTest, Http11NeedsExactlyOneHost) {
  TestServer server(router_);
  for (const char* head :
       {"GET /hello HTTP/1.1\r\n\r\n", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
    Client client(server.port());
    const auto answer = client.Request(head);
    ASSERT_TRUE(answer) << head;
    EXPECT_EQ(answer->status, 400) << head;
    EXPECT_EQ(answer->ErrorCode(), "bad_host");
    EXPECT_TRUE(client.WaitClosed());
  }
}

// The router splits the path as sent: "%2F" is a byte of a segment, never a separator.
TEST_F(HostileInputTest, AnEscapedSlashIsDataNotASeparator) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request(Get("/events/a%2Fb/seats"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "event=a/b");
  answer = client.Request(Get("/events%2F7/seats"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
  answer = client.Request(Get("/files%2Fx"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
}

// 414 for a long target, whether it fits the header limit or not (it was 431).
TEST_F(HostileInputTest, ATooLongTargetIs414) {
  TestServer server(router_);
  for (std::size_t length : {std::size_t{9000}, std::size_t{40000}}) {
    Client client(server.port());
    const auto answer = client.Request(Get("/files/" + std::string(length, 'a')));
    ASSERT_TRUE(answer) << length;
    EXPECT_EQ(answer->status, 414) << length;
    EXPECT_EQ(answer->ErrorCode(), "uri_too_long");
    EXPECT_TRUE(client.WaitClosed());
  }
}

// RFC 9110 section 9.1: 501 for a method the server does not implement, on any path; 405 stays
// for a known method the path does not take.
TEST_F(HostileInputTest, AnUnknownMethodIs501) {
  TestServer server(router_);
  Client client(server.port());
  for (const char* method : {"BREW", "TRACE", "PROPFIND"}) {
    const auto answer = client.Request(std::string(method) + " /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(answer) << method;
    EXPECT_EQ(answer->status, 501) << method;
    EXPECT_EQ(answer->ErrorCode(), "not_implemented");
  }
  const auto answer = client.Request("PUT /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 405);
}

TEST_F(HostileInputTest, OptionsNamesThePathsMethods) {
  TestServer server(router_);
  Client client(server.port());
  auto answer = client.Request("OPTIONS /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(answer->Header("allow"), "GET, HEAD, OPTIONS");
  answer = client.Request("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(answer->Header("allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  answer = client.Request("OPTIONS /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 404);
  // Without --cors-origins a preflight gets no Access-Control-* header: the browser refuses.
  answer = client.Request(
      "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n"
      "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  EXPECT_FALSE(answer->Header("access-control-allow-origin"));
}

TEST_F(HostileInputTest, CorsAnswersOnlyTheOriginsItWasGiven) {
  ServerOptions options;
  options.cors_origins = {"https://tickets.example.com"};
  TestServer server(router_, options);
  Client client(server.port());
  auto answer = client.Request(
      "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nOrigin: https://tickets.example.com\r\n"
      "Access-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: content-type, idempotency-key, x-unknown\r\n\r\n");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(answer->Header("access-control-allow-origin"), "https://tickets.example.com");
  EXPECT_EQ(answer->Header("access-control-allow-methods"), "POST, OPTIONS");
  EXPECT_EQ(answer->Header("access-control-allow-headers"), "content-type, idempotency-key");
  EXPECT_EQ(answer->Header("access-control-max-age"), "600");
  EXPECT_EQ(answer->Header("vary"), "Origin");
  EXPECT_FALSE(answer->Header("access-control-allow-credentials"));

  answer = client.Request(Get("/hello", "Origin: https://tickets.example.com\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->Header("access-control-allow-origin"), "https://tickets.example.com");
  EXPECT_NE(answer->Header("access-control-expose-headers")->find("Retry-After"),
            std::string::npos);

  for (const char* origin :
       {"https://evil.example", "https://tickets.example.com.evil.example", "null"}) {
    answer = client.Request(Get("/hello", "Origin: " + std::string(origin) + "\r\n"));
    ASSERT_TRUE(answer) << origin;
    EXPECT_FALSE(answer->Header("access-control-allow-origin")) << origin;
    EXPECT_EQ(answer->Header("vary"), "Origin") << origin;
  }
}

// One connection that pipelines requests for large answers and reads none held every answer in
// memory (24 seat maps of 28 MB: 630 MB). Now no request is read while 4 MiB of answers wait, so
// what the server holds for the client stays near that whatever it asks. The handler notes, each
// time it runs, how many answer bytes it has made beyond those the client has read: without the
// bound that reaches all of them (60 MiB here) before the client reads a byte.
TEST_F(HostileInputTest, PipelinedLargeAnswersWaitForTheClientToRead) {
  constexpr std::size_t kAnswerBytes = 2 << 20;
  constexpr int kRequests = 30;
  std::atomic<std::size_t> client_read{0};
  std::atomic<std::size_t> answered{0};
  std::atomic<std::size_t> most_ahead{0};
  router_.Add(Method::kGet, "/big", [&](const Request&, Respond respond) {
    const std::size_t made = (answered.fetch_add(1) + 1) * kAnswerBytes;
    const std::size_t read = client_read.load();
    const std::size_t ahead = made > read ? made - read : 0;
    std::size_t seen = most_ahead.load();
    while (ahead > seen && !most_ahead.compare_exchange_weak(seen, ahead)) {
    }
    respond(Text(std::string(kAnswerBytes, 'b')));
  });
  ServerOptions options;
  options.pipeline_limit = 64;  // the byte bound, not the count, is what is tested
  options.threads = 1;
  TestServer server(router_, options);
  Client client(server.port(), 64 << 10);
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += Get("/big");
  client.Send(burst);
  ASSERT_TRUE(Eventually([&] { return answered.load() >= 1; }));
  for (int i = 0; i < kRequests; ++i) {
    const auto answer = client.Read();
    ASSERT_TRUE(answer) << i;
    ASSERT_EQ(answer->body.size(), kAnswerBytes);
    client_read.fetch_add(kAnswerBytes);
  }
  // 4 MiB waiting, the answer that crossed it, and what the kernel's socket buffers hold (a few
  // MiB on loopback): far below the 60 MiB an unbounded server makes at once.
  EXPECT_LE(most_ahead.load(), std::size_t{20} << 20);
  EXPECT_EQ(answered.load(), static_cast<std::size_t>(kRequests));
}

// X-Request-Id is echoed and logged with every line about the request: a card number pasted
// there is replaced by a generated id, never echoed or written anywhere.
TEST_F(HostileInputTest, ACardNumberIsNeverTakenAsTheRequestId) {
  TestServer server(router_);
  Client client(server.port());
  for (const char* id : {"4111111111111111", "trace-4111-1111-1111-1111"}) {
    const auto answer =
        client.Request(Get("/request-id", "X-Request-Id: " + std::string(id) + "\r\n"));
    ASSERT_TRUE(answer) << id;
    EXPECT_EQ(answer->Header("x-request-id")->size(), 16u) << id;
    EXPECT_EQ(answer->body.find("1111"), std::string::npos) << id;
  }
  // A UUID is never a card number, even one whose digits joined by its dashes pass for one.
  auto uuid =
      client.Request(Get("/request-id", "X-Request-Id: 15810140-2271-411c-9592-2ff366b879b6\r\n"));
  ASSERT_TRUE(uuid);
  EXPECT_EQ(uuid->Header("x-request-id"), "15810140-2271-411c-9592-2ff366b879b6");
  // Digits that fail the Luhn check are an id like any other.
  const auto answer = client.Request(Get("/request-id", "X-Request-Id: 4111111111111112\r\n"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->Header("x-request-id"), "4111111111111112");
}

}  // namespace
}  // namespace boxoffice::http::test
