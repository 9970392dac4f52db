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
      while (i < text.size() && (IsDigit(text[i]) || IsSeparator(text[i]))) ++i;
      continue;
    }
    if (digits.size() >= kCardDigitsMin && PassesLuhn(digits)) return true;
  }
  return false;
}

}  // namespace boxoffice
