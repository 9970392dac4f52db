// Refusing raw card numbers. boxoffice only ever takes a gateway's card token; a request that
// carries something that looks like a card number (a fan pasting their card into the wrong field,
// a client built wrong) is refused with 400 `raw_card_number` before anything reads or logs it,
// so no card number reaches a log line, the ledger or a gateway.
//
// "Looks like a card number": a run of 13 to 19 digits, where single spaces or dashes may
// separate digits ("4111 1111 1111 1111", "4111-1111-1111-1111"), that passes the Luhn check.
// Longer digit runs are not card numbers (they are ids or numbers of another kind).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace boxoffice {

inline constexpr std::size_t kCardDigitsMin = 13;
inline constexpr std::size_t kCardDigitsMax = 19;

// True when `digits` (digits only) passes the Luhn check.
bool PassesLuhn(std::string_view digits);
// True when `text` holds a card number anywhere in it.
bool ContainsCardNumber(std::string_view text);
// The path of the first string (object key or value) in `body` holding a card number, e.g.
// "payment.token" or "items[2]"; nullopt when there is none. Only the path is ever reported.
std::optional<std::string> FindCardNumber(const boost::json::value& body);
// 400 raw_card_number naming the field (never the value).
Error RawCardNumberError(const std::string& field);

}  // namespace boxoffice
