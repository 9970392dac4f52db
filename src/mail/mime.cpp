#include "mail/mime.hpp"

#include <sodium.h>

#include <array>
#include <ctime>

#include "common/crypto.hpp"
#include "common/mail_address.hpp"

namespace boxoffice::mail {
namespace {

// Bytes of UTF-8 per RFC 2047 encoded-word: 36 bytes are 48 base64 characters, so a word
// "=?UTF-8?B?...?=" is 60 characters, well under the limit of 75.
constexpr std::size_t kEncodedWordBytesMax = 36;

Error Unprocessable(std::string code, std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, std::move(code), std::move(message));
}

Error HeaderInjection(std::string_view field) {
  return Error::Make(ErrorKind::kUnprocessable, "mail_header_injection",
                     "A mail header field holds a line break.", {{"field", field}});
}

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != text.npos; }

bool IsPrintableAscii(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) without control characters.
bool IsCleanUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if (lead < 0x20 || lead == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code_point = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code_point = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    static constexpr std::array<std::uint32_t, 5> kSmallestForLength = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallestForLength[length] || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff) ||
        (code_point >= 0x80 && code_point < 0xa0)) {
      return false;
    }
    i += length;
  }
  return true;
}

// RFC 2045 token characters, for the two halves of a media type.
bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c <= 0x20 || c > 0x7e || std::string_view("()<>@,;:\\\"/[]?=").find(c) != text.npos) {
      return false;
    }
  }
  return true;
}

Status ValidateContentType(std::string_view content_type) {
  const std::size_t slash = content_type.find('/');
  if (slash == content_type.npos || !IsToken(content_type.substr(0, slash)) ||
      !IsToken(content_type.substr(slash + 1))) {
    return Unprocessable("invalid_attachment",
                         "An attachment's content type must be type/subtype.");
  }
  return {};
}

Status ValidateFilename(std::string_view filename) {
  if (HasLineBreak(filename)) return HeaderInjection("attachments.filename");
  if (filename.empty() || filename.size() > kFilenameBytesMax || !IsPrintableAscii(filename) ||
      filename.find_first_of("\"\\/") != filename.npos) {
    return Unprocessable("invalid_attachment",
                         "An attachment's filename must be printable ASCII without quotes, "
                         "backslashes or slashes.");
  }
  return {};
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// The display name and address of From: a quoted string when the name is ASCII, else
// encoded-words (which RFC 2047 section 5 allows in a phrase).
std::string FormatSender(const Sender& sender) {
  if (sender.name.empty()) return sender.address;
  std::string out;
  if (IsPrintableAscii(sender.name)) {
    out += '"';
    for (const char c : sender.name) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out = EncodeHeaderText(sender.name);
  }
  return out + " <" + sender.address + ">";
}

// A boundary that cannot occur inside the parts: "=_" never appears in base64, nor in
// quoted-printable (where '=' is always followed by two hex digits or a line break).
std::string Boundary(std::string_view message_id) {
  return "=_boxoffice_" + Sha256Hex(message_id).substr(0, 32);
}

}  // namespace

// The rule is common/mail_address.hpp's, the one the API checks a fan's address with; a line break
// is told apart only to name the attempt for what it is.
Status ValidateAddress(std::string_view address) {
  if (HasLineBreak(address)) return HeaderInjection("address");
  if (!IsPlainMailAddress(address)) {
    return Unprocessable("invalid_address",
                         "A mail address must be a plain ASCII local@domain, at most 254 bytes.");
  }
  return {};
}

Result<std::string> NormalizeMessageId(std::string_view message_id) {
  if (HasLineBreak(message_id)) return HeaderInjection("message_id");
  std::string_view inner = message_id;
  if (inner.size() >= 2 && inner.front() == '<' && inner.back() == '>') {
    inner = inner.substr(1, inner.size() - 2);
  }
  const std::size_t at = inner.find('@');
  bool valid = !inner.empty() && inner.size() + 2 <= kMessageIdBytesMax && at != inner.npos &&
               at != 0 && at + 1 != inner.size() && inner.find('@', at + 1) == inner.npos;
  for (const char c : inner) {
    if (c <= 0x20 || c > 0x7e || c == '<' || c == '>') valid = false;
  }
  if (!valid) {
    return Unprocessable("invalid_message_id",
                         "A message id must be printable ASCII of the form <left@right>.");
  }
  return "<" + std::string(inner) + ">";
}

std::string FormatRfc5322Date(TimePoint date) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(date);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return buffer;
}

std::string EncodeBase64Lines(std::string_view bytes) {
  const std::string encoded = Base64(bytes);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / kEncodedLineCharsMax * 2 + 2);
  for (std::size_t start = 0; start < encoded.size(); start += kEncodedLineCharsMax) {
    out.append(encoded, start, kEncodedLineCharsMax);
    out += "\r\n";
  }
  return out;
}

std::string EncodeQuotedPrintable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 2);
  std::size_t line_chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      line_chars = 0;
      continue;
    }
    // Blanks stay literal unless they end a line, where transports may strip them.
    const bool line_ends = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    char token[3];
    std::size_t token_chars = 1;
    if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_ends)) {
      token[0] = static_cast<char>(c);
    } else {
      token[0] = '=';
      token[1] = kHex[c >> 4];
      token[2] = kHex[c & 0x0f];
      token_chars = 3;
    }
    // A soft break "=" counts towards the 76 characters of the line it ends.
    if (line_chars + token_chars > kEncodedLineCharsMax - 1) {
      out += "=\r\n";
      line_chars = 0;
    }
    out.append(token, token_chars);
    line_chars += token_chars;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string EncodeHeaderText(std::string_view text) {
  if (IsPrintableAscii(text) && text.find("=?") == text.npos) return std::string(text);
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(start + kEncodedWordBytesMax, text.size());
    // Never split a character: back off while the next byte continues one.
    while (end < text.size() && end > start &&
           (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(text.substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

Result<std::string> BuildMimeMessage(const MailMessage& message, const Sender& sender,
                                     TimePoint date) {
  Result<std::string> message_id = NormalizeMessageId(message.message_id);
  if (!message_id) return message_id.error();
  if (Status to = ValidateAddress(message.to); !to) return to.error();
  if (Status from = ValidateAddress(sender.address); !from) return from.error();
  if (HasLineBreak(sender.name)) return HeaderInjection("from");
  if (sender.name.size() > kDisplayNameBytesMax || !IsCleanUtf8(sender.name)) {
    return Unprocessable("invalid_address", "The sender's name must be UTF-8 text.");
  }
  if (HasLineBreak(message.subject)) return HeaderInjection("subject");
  if (message.subject.size() > kSubjectBytesMax || !IsCleanUtf8(message.subject)) {
    return Unprocessable("invalid_subject",
                         "A subject must be UTF-8 text without control characters, at most "
                         "900 bytes.");
  }
  if (message.attachments.size() > kAttachmentsMax) {
    return Unprocessable("invalid_attachment", "A mail carries at most 32 attachments.");
  }
  std::size_t content_bytes = message.text.size();
  for (const MailAttachment& attachment : message.attachments) {
    if (Status valid = ValidateFilename(attachment.filename); !valid) return valid.error();
    if (Status valid = ValidateContentType(attachment.content_type); !valid) {
      return valid.error();
    }
    content_bytes += attachment.data.size();
  }
  if (content_bytes > kContentBytesMax) {
    return Unprocessable("mail_too_large", "A mail's text and attachments exceed 20 MiB.");
  }

  const std::string boundary = Boundary(*message_id);
  std::string out;
  out.reserve(1024 + content_bytes * 4 / 3 + content_bytes / 16);
  out += "Message-ID: " + *message_id + "\r\n";
  out += "Date: " + FormatRfc5322Date(date) + "\r\n";
  out += "From: " + FormatSender(sender) + "\r\n";
  out += "To: " + message.to + "\r\n";
  out += "Subject: " + EncodeHeaderText(message.subject) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  // RFC 3834: a machine sent this, so auto-responders should not answer it.
  out += "Auto-Submitted: auto-generated\r\n";
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "\r\n";
  out += EncodeQuotedPrintable(message.text);
  // RFC 2046 section 5.1.1: the CRLF before a delimiter belongs to the delimiter, so each part
  // (which ends with its own CRLF) gets one more; otherwise the text's last line break is lost.
  out += "\r\n";
  for (const MailAttachment& attachment : message.attachments) {
    out += "--" + boundary + "\r\n";
    out +=
        "Content-Type: " + attachment.content_type + "; name=\"" + attachment.filename + "\"\r\n";
    out += "Content-Disposition: attachment; filename=\"" + attachment.filename + "\"\r\n";
    out += "Content-Transfer-Encoding: base64\r\n";
    out += "\r\n";
    out += EncodeBase64Lines(attachment.data);
    out += "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace boxoffice::mail
