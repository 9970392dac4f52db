// Turns a `MailMessage` (ports/mailer.hpp) into the bytes of an RFC 5322 message with MIME
// (RFC 2045–2047): headers, a multipart/mixed body with a UTF-8 text/plain part in
// quoted-printable and each attachment in base64, CRLF line endings, and no line longer than 76
// characters. Both mail adapters use it: the file mailer stores these bytes as `.eml`, the SMTP
// mailer sends them. Everything that ends up in a header or an SMTP command is checked first, so
// a CR or LF smuggled into a recipient or subject can never add a header or a command.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"

namespace boxoffice::mail {

inline constexpr std::size_t kMessageIdBytesMax = 250;  // leaves room on the 998-byte line
inline constexpr std::size_t kSubjectBytesMax = 900;    // before encoding
inline constexpr std::size_t kDisplayNameBytesMax = 200;
inline constexpr std::size_t kFilenameBytesMax = 200;
inline constexpr std::size_t kAttachmentsMax = 32;
inline constexpr std::size_t kContentBytesMax = 20 << 20;  // text plus attachments, raw
inline constexpr std::size_t kEncodedLineCharsMax = 76;    // RFC 2045, without the CRLF

// The sender as it appears in `From:` and in SMTP's MAIL FROM.
struct Sender {
  std::string address = "tickets@boxoffice.invalid";
  std::string name = "boxoffice";  // display name, UTF-8; may be empty
};

// Unprocessable `mail_header_injection` when a header field holds CR or LF, `invalid_address`
// for anything but a plain ASCII local@domain (no display name, no comments, no spaces): the rule
// of common/mail_address.hpp, which the API applies to the addresses fans give.
Status ValidateAddress(std::string_view address);

// The message id in its header form "<left@right>"; the angle brackets are optional on input.
// Unprocessable `invalid_message_id` unless it is printable ASCII with exactly one '@'.
Result<std::string> NormalizeMessageId(std::string_view message_id);

// The whole message, ready to store or send. Unprocessable when any field breaks the rules
// above or a limit (`mail_header_injection`, `invalid_address`, `invalid_message_id`,
// `invalid_subject`, `invalid_attachment`, `mail_too_large`). The output depends only on the
// arguments, so the same message built twice is the same bytes.
Result<std::string> BuildMimeMessage(const MailMessage& message, const Sender& sender,
                                     TimePoint date);

// "Mon, 30 Nov 2026 14:25:13 +0000" (RFC 5322 section 3.3), always in UTC, locale-independent.
std::string FormatRfc5322Date(TimePoint date);

// Standard base64 (RFC 4648 section 4) in lines of 76 characters, each ended by CRLF.
std::string EncodeBase64Lines(std::string_view bytes);

// Quoted-printable (RFC 2045 section 6.7); line breaks of any kind become CRLF hard breaks, long
// lines get soft breaks, and the result ends with CRLF.
std::string EncodeQuotedPrintable(std::string_view text);

// An unstructured header value: unchanged when it is printable ASCII, else RFC 2047 "B"
// encoded-words in UTF-8, each at most 75 characters, folded onto continuation lines. `text` must
// be valid UTF-8 without control characters (BuildMimeMessage checks).
std::string EncodeHeaderText(std::string_view text);

}  // namespace boxoffice::mail
