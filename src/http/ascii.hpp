// ASCII case folding for the HTTP code (common/text.hpp): header names, tokens and schemes are
// case-insensitive ASCII. Internal to src/http.
#pragma once

#include <string_view>

#include "common/text.hpp"

namespace boxoffice::http::internal {

using boxoffice::LowerAscii;

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return EqualsIgnoreAsciiCase(a, b);
}

}  // namespace boxoffice::http::internal
