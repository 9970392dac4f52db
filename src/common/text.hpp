// Small text helpers for parsing what people and protocols write.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace boxoffice {

// `text` without the spaces and tabs around it (HTTP's optional whitespace, list items).
inline std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// ASCII case folding: header names, tokens, schemes and e-mail addresses compare without case in
// ASCII only, and the C locale's tolower is neither needed nor cheap there.
inline char LowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

inline bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

// The items of a comma-separated list, each trimmed of blanks; empty items are dropped
// ("a, b,,c " is a, b, c). For settings, not for per-request parsing: it allocates.
inline std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = TrimBlanks(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

}  // namespace boxoffice
