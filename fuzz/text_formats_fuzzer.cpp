// The small text formats the server reads from clients and operators, each against what its
// header promises: IP addresses and CIDR ranges (src/common/cidr.cpp), RFC 3339 times
// (src/common/time.cpp), card numbers in free text (src/common/card_digits.cpp), mail addresses
// (src/common/mail_address.cpp and the mailer's own check in src/mail/mime.cpp), the accounts'
// email and password rules (src/accounts/accounts.cpp), message ids and operator scopes.
//
// Input: a selector byte, then the text.
//   'a' IpAddress: its canonical text reads back as the same address
//   'b' Cidr and CidrList: a range reads back as itself and contains its network
//   'c' ParseRfc3339: only instants in the documented range, and they format and read back
//   'd' ContainsCardNumber, against a plain reading of card_digits.hpp's rule
//   'e' IsPlainMailAddress and the mailer's ValidateAddress agree; NormalizeEmail is idempotent
//   'f' PasswordWeakness(password, email), fields separated by 0x1f
//   'g' NormalizeMessageId and ParseOperatorScope read their own output back unchanged
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "accounts/accounts.hpp"
#include "common/card_digits.hpp"
#include "common/cidr.hpp"
#include "common/mail_address.hpp"
#include "common/time.hpp"
#include "fuzz_input.hpp"
#include "mail/mime.hpp"
#include "operators/operator_keys.hpp"

namespace {

using namespace boxoffice;

void Address(std::string_view text) {
  const std::optional<IpAddress> address = IpAddress::Parse(text);
  if (!address) return;
  const std::string canonical = address->ToString();
  FUZZ_EXPECT(!canonical.empty());
  const std::optional<IpAddress> again = IpAddress::Parse(canonical);
  FUZZ_EXPECT(again && *again == *address);
  FUZZ_EXPECT(again->ToString() == canonical);
}

void Range(std::string_view text) {
  if (const Result<Cidr> cidr = Cidr::Parse(text)) {
    const std::string canonical = cidr->ToString();
    const Result<Cidr> again = Cidr::Parse(canonical);
    FUZZ_EXPECT(again.ok() && again->ToString() == canonical);
    const std::string network = canonical.substr(0, canonical.find('/'));
    const std::optional<IpAddress> first = IpAddress::Parse(network);
    FUZZ_EXPECT(first && cidr->Contains(*first));
  }
  if (const Result<CidrList> list = CidrList::Parse(text)) {
    for (const Cidr& range : list->ranges()) {
      const std::string canonical = range.ToString();
      FUZZ_EXPECT(list->Contains(std::string_view(canonical.substr(0, canonical.find('/')))));
    }
  }
}

void Time(std::string_view text) {
  const std::optional<TimePoint> time = ParseRfc3339(text);
  if (!time) return;
  const std::int64_t seconds = ToUnixSeconds(*time);
  FUZZ_EXPECT(seconds >= kEarliestUnixSeconds && seconds < kEndUnixSeconds);
  const std::string formatted = FormatRfc3339(*time);
  const std::optional<TimePoint> again = ParseRfc3339(formatted);
  FUZZ_EXPECT(again && ToUnixSeconds(*again) == seconds);
  FUZZ_EXPECT(ParseRfc3339(FormatRfc3339Millis(*time)).has_value());
}

// card_digits.hpp's rule, read plainly: a run of digits in which single spaces or dashes may
// separate two digits; a run of 13 to 19 digits that passes Luhn is a card number, a longer run
// is not one (nor does it hold one).
bool ReferenceContainsCardNumber(std::string_view text) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  while (i < text.size()) {
    if (!digit(text[i])) {
      ++i;
      continue;
    }
    std::string digits;
    while (i < text.size()) {
      if (digit(text[i])) {
        digits += text[i++];
      } else if ((text[i] == ' ' || text[i] == '-') && i + 1 < text.size() && digit(text[i + 1])) {
        ++i;
      } else {
        break;
      }
    }
    if (digits.size() >= kCardDigitsMin && digits.size() <= kCardDigitsMax && PassesLuhn(digits)) {
      return true;
    }
  }
  return false;
}

void CardNumbers(std::string_view text) {
  FUZZ_EXPECT(ContainsCardNumber(text) == ReferenceContainsCardNumber(text));
}

void MailAddresses(std::string_view text) {
  const bool plain = IsPlainMailAddress(text);
  FUZZ_EXPECT(plain == mail::ValidateAddress(text).ok());
  if (plain) FUZZ_EXPECT(text.find_first_of("\r\n <>\",") == std::string_view::npos);
  if (const std::optional<std::string> normalized = NormalizeEmail(text)) {
    FUZZ_EXPECT(NormalizeEmail(*normalized) == normalized);
    FUZZ_EXPECT(normalized->size() <= kEmailMaxChars);
  }
}

void Passwords(fuzz::FuzzInput& input) {
  const std::string_view password = input.Field();
  const std::string_view email = input.Field();
  const std::optional<std::string> weakness = PasswordWeakness(password, email);
  if (!weakness) {
    FUZZ_EXPECT(password.size() >= kPasswordMinChars && password.size() <= kPasswordMaxBytes);
  }
}

void Names(std::string_view text) {
  if (const Result<std::string> id = mail::NormalizeMessageId(text)) {
    FUZZ_EXPECT(id->size() >= 2 && id->front() == '<' && id->back() == '>');
    FUZZ_EXPECT(id->size() <= mail::kMessageIdBytesMax);
    const Result<std::string> again = mail::NormalizeMessageId(*id);
    FUZZ_EXPECT(again.ok() && *again == *id);
  }
  if (const std::optional<OperatorScope> scope = ParseOperatorScope(text)) {
    FUZZ_EXPECT(OperatorScopeName(*scope) == text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput input(data, size);
  switch (input.Select(7)) {
    case 0:
      Address(input.rest());
      break;
    case 1:
      Range(input.rest());
      break;
    case 2:
      Time(input.rest());
      break;
    case 3:
      CardNumbers(input.rest());
      break;
    case 4:
      MailAddresses(input.rest());
      break;
    case 5:
      Passwords(input);
      break;
    default:
      Names(input.rest());
      break;
  }
  return 0;
}
