// Beast's low-level parser, writing straight into our Request: no beast::http::fields copy of the
// header per request, names lower-cased once as they arrive, at most kHeaderFieldsMax fields.
// Internal to src/http.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <cstdint>

#include "http/message.hpp"

namespace boxoffice::http::internal {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Header fields per request; more is answered like an oversized header.
constexpr std::size_t kHeaderFieldsMax = 100;

// Beast 1.81 hands out boost::core::string_view whatever BOOST_BEAST_USE_STD_STRING_VIEW says.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes);

  Request& request() { return request_; }
  int version() const { return version_; }
  bool expect_continue() const { return expect_continue_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view method_text,
                       beast::string_view target, int version, beast::error_code& ec) override;
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override;
  void on_field_impl(bhttp::field field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         beast::error_code&) override;
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override;
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override;
  void on_finish_impl(beast::error_code&) override {}

  Request request_;
  int version_ = 11;
  bool expect_continue_ = false;
};

}  // namespace boxoffice::http::internal
