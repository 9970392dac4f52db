// What the fuzz targets share: reading one libFuzzer input as a selector byte and fields, and
// failing loudly when a property the code promises does not hold.
//
// Inputs are plain bytes so that seed files can be written by hand (fuzz/make_corpus.py): a
// target with several parts reads its first byte as the part ('a' is the first, 'b' the second,
// and so on; any other byte maps onto one of them too), and a part that takes several strings
// reads them separated by the ASCII unit separator 0x1f.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boxoffice::fuzz {

inline constexpr char kFieldSeparator = '\x1f';

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return rest_.empty(); }
  std::string_view rest() const { return rest_; }

  // Takes the first byte as a choice among `count`: 'a' is 0, 'b' is 1, ... modulo `count`.
  std::size_t Select(std::size_t count) {
    if (rest_.empty()) return 0;
    const auto byte = static_cast<unsigned char>(rest_.front());
    rest_.remove_prefix(1);
    return static_cast<unsigned char>(byte - 'a') % count;
  }

  // Takes the bytes up to the next field separator (or all that is left) and the separator.
  std::string_view Field() {
    const std::size_t end = rest_.find(kFieldSeparator);
    const std::string_view field = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
    return field;
  }

 private:
  std::string_view rest_;
};

// A broken promise of the code under test: report it and abort, which libFuzzer records as a
// crash with the input that caused it.
[[noreturn]] inline void PropertyFailed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz property failed at %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace boxoffice::fuzz

#define FUZZ_EXPECT(condition)                                                           \
  do {                                                                                   \
    if (!(condition)) ::boxoffice::fuzz::PropertyFailed(#condition, __FILE__, __LINE__); \
  } while (false)
