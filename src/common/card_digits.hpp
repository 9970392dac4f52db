// What looks like a card number: a run of 13 to 19 digits, where single spaces or dashes may
// separate digits ("4111 1111 1111 1111", "4111-1111-1111-1111"), that passes the Luhn check.
// Longer digit runs are not card numbers (they are ids or numbers of another kind). The API
// refuses requests that carry one (payments/card_number.hpp); the HTTP server never logs one.
#pragma once

#include <cstddef>
#include <string_view>

namespace boxoffice {

inline constexpr std::size_t kCardDigitsMin = 13;
inline constexpr std::size_t kCardDigitsMax = 19;

// True when `digits` (digits only) passes the Luhn check.
bool PassesLuhn(std::string_view digits);
// True when `text` holds a card number anywhere in it.
bool ContainsCardNumber(std::string_view text);

// True for a UUID in its canonical form, 8-4-4-4-12 hex digits: what most clients send as an
// Idempotency-Key or X-Request-Id. Its decimal groups joined by dashes pass for a card number about
// once in a thousand UUIDs, and no card number is written in that shape, so a header that is one
// is not searched for a card number.
bool IsCanonicalUuid(std::string_view text);

}  // namespace boxoffice
