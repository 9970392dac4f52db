// Percent-decoding, form bodies and request targets (src/http/request_target.hpp), with the
// properties their header promises checked on every input.
//
// Input: a selector byte, then the text.
//   'a' PercentDecode in both readings of '+'
//   'b' ParseFormUrlEncoded, unbounded and with a bound on the pairs
//   'c' ParseRequestTarget
//   'd' a round trip: fields (separated by 0x1f) taken as name, value, name, ... are
//       percent-encoded as a client would and must parse back to the same pairs
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "http/request_target.hpp"

namespace {

using boxoffice::http::PercentDecode;
using boxoffice::http::PlusSign;
using boxoffice::http::QueryPairs;

void Decode(std::string_view text) {
  for (PlusSign plus : {PlusSign::kLiteral, PlusSign::kSpace}) {
    std::string out;
    if (!PercentDecode(text, plus, out)) continue;
    FUZZ_EXPECT(out.size() <= text.size());
    // %00 is refused, so a NUL comes out only where one went in.
    FUZZ_EXPECT(out.find('\0') == std::string::npos || text.find('\0') != std::string::npos);
    if (text.find('%') == std::string_view::npos &&
        (plus == PlusSign::kLiteral || text.find('+') == std::string_view::npos)) {
      FUZZ_EXPECT(out == text);
    }
  }
}

void Form(std::string_view text) {
  QueryPairs all;
  const bool parsed = boxoffice::http::ParseFormUrlEncoded(text, all);
  for (std::size_t pairs_max : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    QueryPairs bounded;
    const bool within = boxoffice::http::ParseFormUrlEncoded(text, bounded, pairs_max);
    FUZZ_EXPECT(bounded.size() <= pairs_max);
    // The bound changes the answer only for a body with more pairs than it allows.
    if (parsed) FUZZ_EXPECT(within == (all.size() <= pairs_max));
    if (within) FUZZ_EXPECT(bounded == all);
  }
}

void Target(std::string_view target) {
  std::string path;
  QueryPairs query;
  std::string_view encoded;
  if (!boxoffice::http::ParseRequestTarget(target, path, query, &encoded)) return;
  // The encoded path is a part of the target (or "/" for an absolute form without a path,
  // "http://host"), and decodes to the path.
  FUZZ_EXPECT(encoded == "/" || (encoded.data() >= target.data() &&
                                 encoded.data() + encoded.size() <= target.data() + target.size()));
  FUZZ_EXPECT(!path.empty() && path.front() == '/');
  std::string decoded;
  FUZZ_EXPECT(PercentDecode(encoded, PlusSign::kLiteral, decoded));
  FUZZ_EXPECT(decoded == path);
}

std::string Encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

void RoundTrip(boxoffice::fuzz::FuzzInput& input) {
  QueryPairs sent;
  std::string body;
  while (!input.empty() && sent.size() < 16) {
    std::string name(input.Field());
    std::string value(input.Field());
    // NUL cannot be sent (%00 is refused); an empty pair ("" with no '=') is skipped by design.
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) return;
    if (!body.empty()) body += '&';
    body += Encode(name) + "=" + Encode(value);
    sent.emplace_back(std::move(name), std::move(value));
  }
  QueryPairs received;
  FUZZ_EXPECT(boxoffice::http::ParseFormUrlEncoded(body, received));
  FUZZ_EXPECT(received == sent);
  std::string path;
  QueryPairs query;
  FUZZ_EXPECT(boxoffice::http::ParseRequestTarget("/v1/events?" + body, path, query));
  FUZZ_EXPECT(query == sent);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boxoffice::fuzz::FuzzInput input(data, size);
  switch (input.Select(4)) {
    case 0:
      Decode(input.rest());
      break;
    case 1:
      Form(input.rest());
      break;
    case 2:
      Target(input.rest());
      break;
    default:
      RoundTrip(input);
      break;
  }
  return 0;
}
