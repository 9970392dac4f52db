// ASCII case folding for the HTTP code: header names, tokens and schemes are case-insensitive
// ASCII, and the C locale's tolower is neither needed nor cheap there. Internal to src/http.
#pragma once

#include <cstddef>
#include <string_view>

namespace boxoffice::http::internal {

inline char LowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace boxoffice::http::internal
