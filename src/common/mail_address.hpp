// The one rule for a mail address boxoffice sends to: a plain ASCII local@domain. The mailers
// refuse anything else (mail/mime.hpp builds headers and SMTP commands from it), so the API
// applies this same rule when a fan gives an address (an order's email, a customer's): an address
// that was taken is one the mailer will send to, and a fan never pays for tickets that can then
// never be mailed.
#pragma once

#include <cstddef>
#include <string_view>

namespace boxoffice {

inline constexpr std::size_t kMailAddressBytesMax = 254;  // RFC 5321's path limit, less the <>

// True for one address "local@domain" of at most kMailAddressBytesMax bytes: exactly one '@' with
// something on each side, and only visible ASCII outside ()<>[]:;,\" (so no display name, no
// comment, no list, no quoted local part, no space, no CR or LF, no control character).
bool IsPlainMailAddress(std::string_view address);

}  // namespace boxoffice
