#include "common/card_digits.hpp"

#include <string>

namespace boxoffice {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSeparator(char c) { return c == ' ' || c == '-'; }

}  // namespace

bool PassesLuhn(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    int digit = digits[i] - '0';
    if (twice) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    twice = !twice;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool ContainsCardNumber(std::string_view text) {
  std::string digits;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    // A run: digits, each pair possibly separated by one space or dash.
    digits.clear();
    while (i < text.size()) {
      if (IsDigit(text[i])) {
        digits.push_back(text[i]);
        ++i;
      } else if (IsSeparator(text[i]) && i + 1 < text.size() && IsDigit(text[i + 1])) {
        ++i;
      } else {
        break;
      }
      // Bounded work: a run past the maximum cannot be a card number, whatever follows.
      if (digits.size() > kCardDigitsMax) break;
    }
    if (digits.size() > kCardDigitsMax) {
      // Skip the rest of this run only: by the run's own rule (a separator continues it only
      // between two digits), not every digit and separator in a row, or a card number written
      // after a long number and two spaces ("<20 digits>  4111 1111 1111 1111") went unseen
      // (found by fuzz/text_formats_fuzzer.cpp).
      while (i < text.size() && (IsDigit(text[i]) || (IsSeparator(text[i]) && i + 1 < text.size() &&
                                                      IsDigit(text[i + 1])))) {
        ++i;
      }
      continue;
    }
    if (digits.size() >= kCardDigitsMin && PassesLuhn(digits)) return true;
  }
  return false;
}

bool IsCanonicalUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!IsDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F')) {
      return false;
    }
  }
  return true;
}

}  // namespace boxoffice
