#include "http/request_target.hpp"

#include <algorithm>

#include "http/ascii.hpp"

namespace boxoffice::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, PlusSign plus, std::string& out) {
  const bool plus_is_space = plus == PlusSign::kSpace;
  out.clear();
  // Most parts of most targets hold no escape: copy those whole. (Not find_first_of: with a set
  // of characters it calls memchr once per input character.)
  const bool plain = std::none_of(in.begin(), in.end(), [plus_is_space](char c) {
    return c == '%' || (plus_is_space && c == '+');
  });
  if (plain) {
    out.assign(in);
    return true;
  }
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = HexValue(in[i + 1]);
      const int low = HexValue(in[i + 2]);
      if (high < 0 || low < 0 || (high == 0 && low == 0)) return false;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool ParseFormUrlEncoded(std::string_view text, QueryPairs& pairs, std::size_t pairs_max) {
  std::size_t appended = 0;
  std::string name;
  std::string value;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    if (appended == pairs_max) return false;
    const auto equals = pair.find('=');
    const std::string_view raw_name = pair.substr(0, equals);
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (!PercentDecode(raw_name, PlusSign::kSpace, name) ||
        !PercentDecode(raw_value, PlusSign::kSpace, value)) {
      return false;
    }
    // The moved-from strings are valid and empty; PercentDecode fills them again.
    pairs.emplace_back(std::move(name), std::move(value));
    ++appended;
  }
  return true;
}

bool ParseRequestTarget(std::string_view target, std::string& path, QueryPairs& query,
                        std::string_view* encoded_path) {
  // Absolute-form (RFC 9112 section 3.2.2) must be accepted by servers; only its path matters
  // here, so the authority is skipped unread, whatever it holds.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() > scheme.size() &&
        internal::EqualsIgnoreCase(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const auto path_start = target.find_first_of("/?");
      target =
          path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
      if (target.front() == '?') return false;
      break;
    }
  }
  // A client should not send a fragment, but one that does means the part before it.
  if (const auto fragment = target.find('#'); fragment != std::string_view::npos) {
    target = target.substr(0, fragment);
  }
  const auto question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  if (raw_path.empty() || raw_path.front() != '/') return false;
  if (!PercentDecode(raw_path, PlusSign::kLiteral, path)) return false;
  if (encoded_path != nullptr) *encoded_path = raw_path;
  if (question == std::string_view::npos) return true;
  return ParseFormUrlEncoded(target.substr(question + 1), query);
}

}  // namespace boxoffice::http
