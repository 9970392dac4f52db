// A hash map keyed by std::string that finds by std::string_view without making a string: the
// hot paths look ids and SQL up from request text, and a std::string per lookup is an allocation.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace boxoffice {

struct TransparentStringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, TransparentStringHash, std::equal_to<>>;

}  // namespace boxoffice
