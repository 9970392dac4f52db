#include "http/error_response.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_text.hpp"

namespace boxoffice::http {
namespace {

// U+FFFD REPLACEMENT CHARACTER, for each byte that does not begin a valid UTF-8 sequence.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// The length of the valid UTF-8 sequence at the start of `text` (no overlong form, no surrogate,
// at most U+10FFFF), or 0 when there is none.
std::size_t Utf8SequenceAt(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    code_point = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code_point = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kSmallest[length] || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return length;
}

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD. An error names what
// the client sent (a path, a parameter), and percent-decoding makes any byte of it; JSON is UTF-8
// (RFC 8259), and a client's parser refuses the whole answer for one stray byte (found by
// fuzz/api_bodies_fuzzer.cpp: GET /v1/events/%FF answered with a body no JSON parser reads).
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = Utf8SequenceAt(text);
    if (length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, length));
      text.remove_prefix(length);
    }
  }
  return out;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

void MakeValidUtf8(boost::json::value& value) {
  if (boost::json::string* text = value.if_string()) {
    if (!IsAscii(*text)) *text = ValidUtf8(*text);
  } else if (boost::json::array* array = value.if_array()) {
    for (boost::json::value& item : *array) MakeValidUtf8(item);
  } else if (boost::json::object* object = value.if_object()) {
    bool keys_ascii = true;
    for (auto& field : *object) {
      MakeValidUtf8(field.value());
      keys_ascii = keys_ascii && IsAscii(field.key());
    }
    if (keys_ascii) return;  // as the API's own keys always are
    boost::json::object repaired;
    for (auto& field : *object) repaired[ValidUtf8(field.key())] = std::move(field.value());
    *object = std::move(repaired);
  }
}

}  // namespace

int StatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kMalformed:
      return 400;
    case ErrorKind::kUnauthenticated:
      return 401;
    case ErrorKind::kPaymentRequired:
      return 402;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kMethodNotAllowed:
      return 405;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kPayloadTooLarge:
      return 413;
    case ErrorKind::kUnprocessable:
      return 422;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kUnavailable:
      return 503;
  }
  return 500;
}

Response ErrorResponse(const Error& error) {
  Response response;
  response.status = StatusFor(error.kind);
  boost::json::object inner;
  inner["code"] = error.code;
  inner["message"] = error.message;
  inner["details"] = error.details;
  boost::json::value whole = {{"error", std::move(inner)}};
  MakeValidUtf8(whole);
  response.body = SerializeJson(whole);
  if (error.retry_after_s > 0) {
    response.SetHeader("Retry-After", std::to_string(error.retry_after_s));
  } else if (error.kind == ErrorKind::kUnavailable || error.kind == ErrorKind::kRateLimited) {
    response.SetHeader("Retry-After", "1");
  }
  if (error.kind == ErrorKind::kUnauthenticated) {
    response.SetHeader("WWW-Authenticate", "Bearer");
  }
  return response;
}

}  // namespace boxoffice::http
