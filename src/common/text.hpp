// Small text helpers for parsing what people and protocols write.
#pragma once

#include <string_view>

namespace boxoffice {

// `text` without the spaces and tabs around it (HTTP's optional whitespace, list items).
inline std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace boxoffice
