#include "http/request_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <limits>
#include <string>

#include "common/text.hpp"
#include "http/ascii.hpp"

namespace boxoffice::http::internal {
namespace {

// Room made for a request's fields up front: a browser sends about a dozen, an API client a few,
// and growing the vector 1, 2, 4, 8, 16 would allocate five times per request.
constexpr std::size_t kHeaderFieldsReserved = 16;

Method FromVerb(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

}  // namespace

RequestParser::RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes) {
  header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(header_limit_bytes, std::numeric_limits<std::uint32_t>::max())));
  body_limit(body_limit_bytes);
  // Parse the body in the same put() as the header when it is already buffered.
  eager(true);
  // Until a request line is parsed there is no method; metrics must not call it a GET.
  request_.method = Method::kOther;
  request_.headers.reserve(kHeaderFieldsReserved);
}

void RequestParser::Refuse(Refusal refusal, beast::error_code& ec) {
  refusal_ = refusal;
  ec = bhttp::error::bad_field;
}

void RequestParser::on_request_impl(bhttp::verb method, beast::string_view /*method_text*/,
                                    beast::string_view target, int version, beast::error_code& ec) {
  has_request_line_ = true;
  request_.method = FromVerb(method);
  version_ = version;
  if (target.size() > kRequestTargetBytesMax) {
    Refuse(Refusal::kTargetTooLong, ec);
    return;
  }
  request_.target.assign(target.data(), target.size());
}

void RequestParser::on_response_impl(int, beast::string_view, int, beast::error_code& ec) {
  ec = bhttp::error::bad_method;  // unreachable for a request parser
}

void RequestParser::NoteTransferCodings(std::string_view value) {
  // transfer-coding = token *( OWS ";" OWS transfer-parameter ), in a comma-separated list whose
  // empty elements are ignored (RFC 9110 section 5.6.1). A coding with parameters is never the
  // plain `chunked` this server implements.
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view coding = TrimBlanks(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (coding.empty()) continue;
    ++codings_;
    last_coding_chunked_ = EqualsIgnoreCase(coding, "chunked");
    if (last_coding_chunked_) ++chunked_codings_;
  }
}

void RequestParser::on_field_impl(bhttp::field field, beast::string_view name,
                                  beast::string_view value, beast::error_code& ec) {
  if (++fields_ > kHeaderFieldsMax) {
    ec = bhttp::error::header_limit;
    return;
  }
  if (header_done_) return;  // a trailer field: counted, never believed (see the header)
  const std::string_view text(value.data(), value.size());
  if (field == bhttp::field::host) {
    ++host_fields_;
  } else if (field == bhttp::field::transfer_encoding) {
    NoteTransferCodings(text);
  } else if (field == bhttp::field::expect && version_ >= 11 &&
             EqualsIgnoreCase(text, "100-continue")) {
    // An HTTP/1.0 client cannot know 100 Continue, so its Expect is ignored (RFC 9110 10.1.1).
    expect_continue_ = true;
  }
  auto& header =
      request_.headers.emplace_back(std::string(name.data(), name.size()), std::string(text));
  for (char& c : header.first) c = LowerAscii(c);
}

void RequestParser::on_header_impl(beast::error_code& ec) {
  header_done_ = true;
  if (host_fields_ > 1 || (version_ >= 11 && host_fields_ == 0)) {
    Refuse(Refusal::kBadHost, ec);
    return;
  }
  if (codings_ == 0) return;
  if (version_ < 11 || !last_coding_chunked_ || chunked_codings_ > 1) {
    Refuse(Refusal::kBadFraming, ec);
  } else if (codings_ > 1) {
    Refuse(Refusal::kUnsupportedCoding, ec);
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      beast::error_code&) {
  // basic_parser has already refused a Content-Length above body_limit, so this is bounded.
  if (content_length) request_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(beast::string_view body, beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                              beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

}  // namespace boxoffice::http::internal
