#include "http/request_parser.hpp"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <string>
#include <string_view>

namespace boxoffice::http::internal {
namespace {

constexpr std::size_t kHeaderLimit = 16 << 10;
constexpr std::size_t kBodyLimit = 1 << 20;

// Feeds `bytes` to a fresh parser the way the connection does, everything at once; returns the
// parser's last error (need_more when the message is incomplete, none when it is done).
struct Parsed {
  RequestParser parser{kHeaderLimit, kBodyLimit};
  beast::error_code ec;
  std::size_t used = 0;
};

void Feed(Parsed& parsed, std::string_view bytes) {
  while (!bytes.empty()) {
    parsed.ec = {};
    const std::size_t used =
        parsed.parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), parsed.ec);
    parsed.used += used;
    bytes.remove_prefix(used);
    if (parsed.ec || parsed.parser.is_done() || used == 0) return;
  }
}

Refusal RefusalOf(std::string_view bytes) {
  Parsed parsed;
  Feed(parsed, bytes);
  return parsed.ec ? parsed.parser.refusal() : Refusal::kNone;
}

std::string Post(std::string_view headers, std::string_view body) {
  return "POST /echo HTTP/1.1\r\nHost: t\r\n" + std::string(headers) + "\r\n" + std::string(body);
}

// RFC 9112 section 6.3: unless chunked is the last coding, a request's length cannot be known;
// Beast alone reads such a request as bodiless, and its body as the next request (smuggling).
TEST(RequestParserTest, TransferEncodingMustEndInChunked) {
  const std::string smuggled = "GET /admin HTTP/1.1\r\nHost: t\r\n\r\n";
  for (const char* coding : {"gzip", "xchunked", "chunked, gzip", "chunked;ext=1", "identity"}) {
    Parsed parsed;
    Feed(parsed, Post("Transfer-Encoding: " + std::string(coding) + "\r\n", smuggled));
    EXPECT_TRUE(parsed.ec) << coding;
    EXPECT_EQ(parsed.parser.refusal(), Refusal::kBadFraming) << coding;
  }
  // Named twice, in one field or two.
  EXPECT_EQ(RefusalOf(Post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n")),
            Refusal::kBadFraming);
  // HTTP/1.0 has no transfer codings: the framing is faulty whatever it says (section 6.1).
  EXPECT_EQ(RefusalOf("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Refusal::kBadFraming);
}

// Two ways to read the length are one too many, whichever comes first (Beast refuses these; the
// test pins it, since docs/security.md promises it).
TEST(RequestParserTest, ConflictingLengthsAreRefused) {
  for (const char* headers : {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                              "Content-Length: 5\r\nContent-Length: 6\r\n"}) {
    Parsed parsed;
    Feed(parsed, Post(headers, "0\r\n\r\n"));
    EXPECT_TRUE(parsed.ec && parsed.ec != bhttp::error::need_more) << headers;
  }
}

TEST(RequestParserTest, ACodingOtherThanChunkedIsNotImplemented) {
  EXPECT_EQ(RefusalOf(Post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n")),
            Refusal::kUnsupportedCoding);
  EXPECT_EQ(
      RefusalOf(Post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")),
      Refusal::kUnsupportedCoding);
}

TEST(RequestParserTest, ChunkedAloneIsRead) {
  Parsed parsed;
  Feed(parsed, Post("Transfer-Encoding: Chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"));
  EXPECT_FALSE(parsed.ec) << parsed.ec.message();
  ASSERT_TRUE(parsed.parser.is_done());
  EXPECT_EQ(parsed.parser.request().body, "hello");
}

// A trailer arrives after the header was read, unseen by any proxy in front that checked it.
TEST(RequestParserTest, TrailerFieldsAreCountedButNotBelieved) {
  Parsed parsed;
  Feed(parsed, Post("Transfer-Encoding: chunked\r\n",
                    "5\r\nhello\r\n0\r\nX-Forwarded-For: 203.0.113.7\r\nAuthorization: Bearer x"
                    "\r\n\r\n"));
  ASSERT_TRUE(parsed.parser.is_done()) << parsed.ec.message();
  EXPECT_FALSE(parsed.parser.request().Header("x-forwarded-for"));
  EXPECT_FALSE(parsed.parser.request().Header("authorization"));

  std::string many;
  for (std::size_t i = 0; i < kHeaderFieldsMax; ++i) many += "T" + std::to_string(i) + ": x\r\n";
  Parsed flooded;
  Feed(flooded, Post("Transfer-Encoding: chunked\r\n", "0\r\n" + many + "\r\n"));
  EXPECT_EQ(flooded.ec, bhttp::error::header_limit);
}

// RFC 9112 section 3.2: exactly one Host in HTTP/1.1; never two.
TEST(RequestParserTest, HostIsRequiredOnceInHttp11) {
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\n\r\n"), Refusal::kBadHost);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Refusal::kBadHost);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), Refusal::kBadHost);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.0\r\n\r\n"), Refusal::kNone);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Refusal::kNone);
}

TEST(RequestParserTest, ATooLongTargetIsRefusedAsSuch) {
  const std::string target = "/" + std::string(kRequestTargetBytesMax, 'a');
  EXPECT_EQ(RefusalOf("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"), Refusal::kTargetTooLong);
  EXPECT_EQ(RefusalOf("GET " + target.substr(1) + " HTTP/1.1\r\nHost: t\r\n\r\n"), Refusal::kNone);
  // Longer than the whole header limit: Beast stops inside the request line.
  Parsed parsed;
  Feed(parsed, "GET /" + std::string(kHeaderLimit, 'a'));
  EXPECT_EQ(parsed.ec, bhttp::error::header_limit);
  EXPECT_FALSE(parsed.parser.has_request_line());
}

// An HTTP/1.0 client cannot know 100 Continue, so its Expect is ignored (RFC 9110 10.1.1).
TEST(RequestParserTest, ExpectContinueOnlyFromHttp11) {
  Parsed http11;
  Feed(http11,
       "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_TRUE(http11.parser.expect_continue());
  Parsed http10;
  Feed(http10, "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_TRUE(http10.parser.is_header_done());
  EXPECT_FALSE(http10.parser.expect_continue());
}

// A chunked body sent a byte at a time parses as when sent whole. Beast 1.81 asserted that a final
// chunk waiting for its trailer came back with five bytes or more, so "0\r\n" and then "\r"
// aborted the sanitizer builds (assertions on); found by fuzz/http_connection_fuzzer.cpp.
TEST(RequestParserTest, ChunkedBodyArrivingByteByByte) {
  for (const std::string body : {"0\r\n\r\n", "2\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n"}) {
    const std::string request = Post("Transfer-Encoding: chunked\r\n", body);
    RequestParser parser(kHeaderLimit, kBodyLimit);
    std::string buffered;  // what arrived and the parser has not used, as the connection keeps it
    beast::error_code ec;
    for (const char byte : request) {
      buffered += byte;
      ec = {};
      const std::size_t used =
          parser.put(boost::asio::const_buffer(buffered.data(), buffered.size()), ec);
      buffered.erase(0, used);
      if (ec != bhttp::error::need_more) {
        ASSERT_FALSE(ec) << ec.message();
      }
    }
    EXPECT_TRUE(parser.is_done()) << body;
    EXPECT_TRUE(buffered.empty());
    EXPECT_EQ(parser.request().body, body.size() > 5 ? "{}" : "");
  }
}

}  // namespace
}  // namespace boxoffice::http::internal
