#include "http/compression.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace boxoffice::http {
namespace {

TEST(AcceptsEncodingTest, ReadsNamesWeightsAndTheWildcard) {
  EXPECT_TRUE(AcceptsEncoding("gzip", "gzip"));
  EXPECT_TRUE(AcceptsEncoding("deflate, GZIP;q=0.5", "gzip"));
  EXPECT_FALSE(AcceptsEncoding("gzip;q=0", "gzip"));
  EXPECT_FALSE(AcceptsEncoding("gzip; q=0.000", "gzip"));
  EXPECT_TRUE(AcceptsEncoding("gzip;q=0.001", "gzip"));
  EXPECT_TRUE(AcceptsEncoding("*", "br"));
  EXPECT_FALSE(AcceptsEncoding("*, br;q=0", "br"));
  EXPECT_FALSE(AcceptsEncoding("*;q=0", "gzip"));
  EXPECT_FALSE(AcceptsEncoding("", "gzip"));
  EXPECT_FALSE(AcceptsEncoding("gzip-ish, xgzip", "gzip"));
}

// The bytes a gzip member decompresses to, by zlib's own inflate.
std::string Gunzip(const std::string& gzipped) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 22, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzipped.data()));
  stream.avail_in = static_cast<uInt>(gzipped.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

std::string SeatListJson(int seats) {
  std::string json = "{\"seats\":[";
  for (int i = 0; i < seats; ++i) {
    if (i > 0) json += ',';
    json += "{\"id\":\"A-" + std::to_string(i) + "\",\"status\":\"available\",\"version\":0}";
  }
  return json + "]}";
}

Request Accepting(std::string accept_encoding) {
  Request request;
  request.headers.emplace_back("accept-encoding", std::move(accept_encoding));
  return request;
}

std::optional<std::string> HeaderOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(GzipTest, RoundTripsThroughZlib) {
  const std::string json = SeatListJson(5000);
  const auto gzipped = Gzip(json);
  ASSERT_TRUE(gzipped.has_value());
  EXPECT_LT(gzipped->size(), json.size() / 5);
  EXPECT_EQ(Gunzip(*gzipped), json);
  EXPECT_EQ(Gunzip(Gzip("").value()), "");
}

TEST(MaybeCompressTest, GzipsALargeJsonAnswerForAClientThatAcceptsIt) {
  Response response;
  response.body = SeatListJson(2000);
  response.SetHeader("ETag", "\"v7\"");
  const std::string identity = response.body;
  MaybeCompress(Accepting("gzip, deflate, br"), response);
  EXPECT_EQ(HeaderOf(response, "Content-Encoding"), "gzip");
  EXPECT_EQ(HeaderOf(response, "Vary"), "Accept-Encoding");
  // The ETag named the identity bytes; the compressed answer carries a weak one of the same value.
  EXPECT_EQ(HeaderOf(response, "ETag"), "W/\"v7\"");
  EXPECT_EQ(Gunzip(response.body), identity);
}

TEST(MaybeCompressTest, LeavesAloneWhatMustNotOrNeedNotBeCompressed) {
  const std::string large = SeatListJson(2000);
  {  // the client does not accept gzip: identity, but a cache must still tell the two apart
    Response response;
    response.body = large;
    MaybeCompress(Accepting("br;q=1, gzip;q=0"), response);
    EXPECT_EQ(response.body, large);
    EXPECT_FALSE(HeaderOf(response, "Content-Encoding"));
    EXPECT_EQ(HeaderOf(response, "Vary"), "Accept-Encoding");
  }
  {  // too small to be worth it
    Response response;
    response.body = std::string(kCompressMinBytes - 1, 'a');
    MaybeCompress(Accepting("gzip"), response);
    EXPECT_EQ(response.body.size(), kCompressMinBytes - 1);
    EXPECT_TRUE(response.headers.empty());
  }
  {  // not text: images, QR codes
    Response response;
    response.content_type = "image/png";
    response.body = large;
    MaybeCompress(Accepting("gzip"), response);
    EXPECT_EQ(response.body, large);
  }
  {  // already encoded by its handler (a static file's precompressed variant)
    Response response;
    response.content_type = "text/javascript";
    response.body = large;
    response.SetHeader("Vary", "Accept-Encoding");
    response.SetHeader("Content-Encoding", "br");
    MaybeCompress(Accepting("gzip"), response);
    EXPECT_EQ(response.body, large);
    EXPECT_EQ(response.headers.size(), 2u);
  }
  {  // not modified: no body to compress
    Response response;
    response.status = 304;
    response.body = large;
    MaybeCompress(Accepting("gzip"), response);
    EXPECT_EQ(response.body, large);
  }
}

}  // namespace
}  // namespace boxoffice::http
