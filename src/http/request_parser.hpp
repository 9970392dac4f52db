// Beast's low-level parser, writing straight into our Request: no beast::http::fields copy of the
// header per request, names lower-cased once as they arrive, at most kHeaderFieldsMax fields.
//
// Beast frames a message by RFC 7230 and trusts the rest. What it lets through that a server must
// not (RFC 9112) is refused here, before a handler sees the request:
// - Transfer-Encoding whose last coding is not `chunked`: Beast reads such a request as having no
//   body, and its body would then be parsed as the next request on the connection (smuggling).
//   400, and the connection closes; a coding other than `chunked` before it is 501.
// - Transfer-Encoding in an HTTP/1.0 request: the framing is faulty (RFC 9112 section 6.1), 400.
// - HTTP/1.1 without exactly one Host, or any version with two: 400 (section 3.2).
// - A request target longer than kRequestTargetBytesMax: 414.
// - A chunk-size line (with its extensions) or a trailer longer than the header limit: Beast would
//   buffer either whole, however long; the connection enforces this one (it sees the buffer).
// - Fields in a chunked body's trailer are counted against kHeaderFieldsMax and then dropped: they
//   arrive after the header was read, and a handler that believed them would trust a header that
//   no proxy in front ever saw.
// Internal to src/http.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <cstdint>

#include "http/message.hpp"

namespace boxoffice::http::internal {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Header fields per request (trailer fields included); more is answered like an oversized header.
constexpr std::size_t kHeaderFieldsMax = 100;
// The request target's bytes; longer is 414. Every target this API has fits in a tenth of it.
constexpr std::size_t kRequestTargetBytesMax = 8 << 10;

// Why the parser refused a request that Beast alone would have accepted; the error code it reports
// then is bhttp::error::bad_field (never seen otherwise, so the connection asks refusal()).
enum class Refusal {
  kNone,
  kBadFraming,         // 400: Transfer-Encoding not ending in chunked, or chunked twice, or 1.0
  kUnsupportedCoding,  // 501: a transfer coding this server does not implement
  kBadHost,            // 400: no Host in HTTP/1.1, or more than one
  kTargetTooLong,      // 414
};

// Beast 1.81 hands out boost::core::string_view whatever BOOST_BEAST_USE_STD_STRING_VIEW says.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes);

  // basic_parser::put, except that inside a chunked body fewer than kChunkedPutBytesMin buffered
  // bytes are not parsed yet (need_more, nothing used). Beast 1.81 asserts that a final chunk
  // waiting for its trailer comes back with at least five bytes; a client that sends "0\r\n" and
  // then "\r" on its own made that four, and aborted a build with assertions on (the sanitizer
  // builds). The assertion is wrong and is gone from Beast (boostorg/beast#2861); the parse
  // itself is right, and every chunked body ends with at least the five bytes "0\r\n\r\n", so
  // waiting for them changes no answer. Found by fuzz/http_connection_fuzzer.cpp.
  static constexpr std::size_t kChunkedPutBytesMin = 5;
  std::size_t put(boost::asio::const_buffer buffer, beast::error_code& ec) {
    if (is_header_done() && chunked() && !is_done() && buffer.size() < kChunkedPutBytesMin) {
      ec = bhttp::error::need_more;
      return 0;
    }
    return basic_parser::put(buffer, ec);
  }

  Request& request() { return request_; }
  int version() const { return version_; }
  bool expect_continue() const { return expect_continue_; }
  // True once the request line was parsed: a header limit hit before it is the target's (414).
  bool has_request_line() const { return has_request_line_; }
  Refusal refusal() const { return refusal_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view method_text,
                       beast::string_view target, int version, beast::error_code& ec) override;
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override;
  void on_field_impl(bhttp::field field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         beast::error_code&) override;
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override;
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override;
  void on_finish_impl(beast::error_code&) override {}

  void Refuse(Refusal refusal, beast::error_code& ec);
  // Reads one Transfer-Encoding field's codings into the running account below.
  void NoteTransferCodings(std::string_view value);

  Request request_;
  int version_ = 11;
  bool has_request_line_ = false;
  bool header_done_ = false;
  bool expect_continue_ = false;
  std::size_t fields_ = 0;
  std::size_t host_fields_ = 0;
  // Transfer codings across every Transfer-Encoding field, in order: how many, how many of them
  // chunked, and whether the last one was.
  std::size_t codings_ = 0;
  std::size_t chunked_codings_ = 0;
  bool last_coding_chunked_ = false;
  Refusal refusal_ = Refusal::kNone;
};

}  // namespace boxoffice::http::internal
