// Refusing raw card numbers. boxoffice only ever takes a gateway's card token; a request that
// carries something that looks like a card number (a fan pasting their card into the wrong field,
// a client built wrong) is refused with 400 `raw_card_number` before anything reads or logs it,
// so no card number reaches a log line, the ledger or a gateway.
//
// "Looks like a card number" is common/card_digits.hpp's rule, which the HTTP server applies too
// (to the X-Request-Id it logs).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/card_digits.hpp"
#include "common/error.hpp"

namespace boxoffice {

// The path of the first string (object key or value) in `body` holding a card number, e.g.
// "payment.token" or "items[2]"; nullopt when there is none. Only the path is ever reported.
std::optional<std::string> FindCardNumber(const boost::json::value& body);
// 400 raw_card_number naming the field (never the value).
Error RawCardNumberError(const std::string& field);

}  // namespace boxoffice
