#include "mail/mime.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json/serialize.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "common/mail_address.hpp"
#include "mail/mail_test_support.hpp"

namespace boxoffice::mail {
namespace {

using testing::InspectWithPython;
using testing::TemporaryDirectory;
using testing::WriteFile;

const TimePoint kDate = TimePoint(std::chrono::seconds(1'800'000'000));

// Bytes that exercise every encoding path: all 256 byte values, twice.
std::string AllBytes() {
  std::string bytes;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  }
  return bytes;
}

MailMessage TicketMail() {
  MailMessage message;
  message.message_id = "<ord_abc123.confirmation@boxoffice.test>";
  message.to = "fan@example.com";
  message.subject = "Your tickets for Night 1";
  message.text =
      "Hello,\n\nthank you for your order ord_abc123.\n"
      ".a line that starts with a dot\n"
      "Section 101, row A, seat 12: =50% off? no.  \n"
      "Grüße — ünïcödé and a very long line that goes on and on and on and on and on and on and "
      "on past seventy-six characters\n";
  message.attachments.push_back({"ticket-tkt_1.svg", "image/svg+xml", "<svg>one</svg>"});
  message.attachments.push_back({"binary.bin", "application/octet-stream", AllBytes()});
  return message;
}

std::vector<std::string> SplitCrlf(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::string DecodeBase64(std::string encoded) {
  std::erase(encoded, '\r');
  std::erase(encoded, '\n');
  std::string bytes(encoded.size(), '\0');
  std::size_t length = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                              encoded.data(), encoded.size(), nullptr, &length, nullptr,
                              sodium_base64_VARIANT_ORIGINAL),
            0);
  bytes.resize(length);
  return bytes;
}

// A straightforward quoted-printable decoder (RFC 2045 section 6.7), to check the encoder.
std::string DecodeQuotedPrintable(const std::string& encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      out += encoded[i];
    } else if (encoded.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;  // soft line break
    } else {
      out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

// Decodes a header value made of RFC 2047 "B" encoded-words in UTF-8.
std::string DecodeEncodedWords(const std::string& value) {
  std::string out;
  const std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
  for (auto it = std::sregex_iterator(value.begin(), value.end(), word);
       it != std::sregex_iterator(); ++it) {
    EXPECT_LE((*it)[0].length(), 75) << "an encoded-word is longer than 75 characters";
    out += DecodeBase64((*it)[1]);
  }
  return out;
}

class MimeTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
};

// The message has the RFC 5322 headers, a multipart/mixed body with a text part and one base64
// part per attachment that decodes to the original bytes, CRLF line endings throughout, and no
// body line over 76 characters.
TEST_F(MimeTest, BuildsMultipartMessageWithCrlfAndShortLines) {
  Result<std::string> built = BuildMimeMessage(TicketMail(), {}, kDate);
  ASSERT_TRUE(built) << built.error().message;
  const std::string& bytes = *built;
  EXPECT_EQ(bytes.find('\n'), bytes.find("\r\n") + 1);
  EXPECT_EQ(std::regex_search(bytes, std::regex("[^\r]\n")), false) << "a bare LF";
  EXPECT_EQ(std::regex_search(bytes, std::regex("\r[^\n]")), false) << "a bare CR";

  const std::size_t header_end = bytes.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  const std::string headers = bytes.substr(0, header_end + 2);
  EXPECT_EQ(headers.rfind("Message-ID: <ord_abc123.confirmation@boxoffice.test>\r\n", 0), 0u);
  EXPECT_NE(headers.find("\r\nDate: Fri, 15 Jan 2027 08:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(headers.find("\r\nFrom: \"boxoffice\" <tickets@boxoffice.invalid>\r\n"),
            std::string::npos);
  EXPECT_NE(headers.find("\r\nTo: fan@example.com\r\n"), std::string::npos);
  EXPECT_NE(headers.find("\r\nSubject: Your tickets for Night 1\r\n"), std::string::npos);
  EXPECT_NE(headers.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
  std::smatch boundary_match;
  ASSERT_TRUE(std::regex_search(
      headers, boundary_match, std::regex("Content-Type: multipart/mixed; boundary=\"([^\"]+)\"")));
  const std::string boundary = boundary_match[1];

  // Split the body on the delimiter lines: a preamble, three parts, and the closing delimiter.
  const std::string body = bytes.substr(header_end + 4);
  std::vector<std::string> parts;
  std::size_t position = body.find("--" + boundary + "\r\n");
  ASSERT_NE(position, std::string::npos);
  while (true) {
    const std::size_t start = position + boundary.size() + 4;
    const std::size_t next = body.find("\r\n--" + boundary, start);
    ASSERT_NE(next, std::string::npos);
    parts.push_back(body.substr(start, next - start));
    position = next + 2;
    if (body.compare(position + 2 + boundary.size(), 2, "--") == 0) break;
  }
  EXPECT_EQ(body.substr(position), "--" + boundary + "--\r\n");
  ASSERT_EQ(parts.size(), 3u);

  const std::size_t text_headers_end = parts[0].find("\r\n\r\n");
  EXPECT_EQ(parts[0].substr(0, text_headers_end),
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable");
  std::string expected_text = TicketMail().text;
  expected_text = std::regex_replace(expected_text, std::regex("\n"), "\r\n");
  EXPECT_EQ(DecodeQuotedPrintable(parts[0].substr(text_headers_end + 4)), expected_text);

  const MailMessage original = TicketMail();
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string& part = parts[i + 1];
    const std::size_t part_headers_end = part.find("\r\n\r\n");
    const std::string& filename = original.attachments[i].filename;
    EXPECT_EQ(part.substr(0, part_headers_end),
              "Content-Type: " + original.attachments[i].content_type + "; name=\"" + filename +
                  "\"\r\nContent-Disposition: attachment; filename=\"" + filename +
                  "\"\r\nContent-Transfer-Encoding: base64");
    EXPECT_EQ(DecodeBase64(part.substr(part_headers_end + 4)), original.attachments[i].data);
  }
  for (const std::string& line : SplitCrlf(body)) EXPECT_LE(line.size(), 76u) << line;
}

// Python's `email` package, an independent reader, sees the same message without defects: the
// headers, the decoded text and each attachment's bytes.
TEST_F(MimeTest, PythonEmailPackageReadsTheMessage) {
  MailMessage message = TicketMail();
  message.subject = "Deine Tickets für „Nacht 1“ — 🎫 Reihe A, Platz 12 und noch viel mehr Text";
  Result<std::string> built =
      BuildMimeMessage(message, {"tickets@boxoffice.test", "Box Office Müller"}, kDate);
  ASSERT_TRUE(built);
  const TemporaryDirectory directory;
  WriteFile(directory.path() / "message.eml", *built);
  const boost::json::object seen = InspectWithPython(directory.path() / "message.eml");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.at("defects").as_array().size(), 0u) << boost::json::serialize(seen);
  EXPECT_EQ(seen.at("message_id").as_string(), "<ord_abc123.confirmation@boxoffice.test>");
  EXPECT_EQ(seen.at("date").as_string(), "Fri, 15 Jan 2027 08:00:00 +0000");
  EXPECT_EQ(seen.at("from_address").as_string(), "tickets@boxoffice.test");
  EXPECT_EQ(seen.at("from_name").as_string(), "Box Office Müller");
  EXPECT_EQ(seen.at("to").as_string(), "fan@example.com");
  EXPECT_EQ(seen.at("subject").as_string(), message.subject);
  EXPECT_EQ(seen.at("content_type").as_string(), "multipart/mixed");
  EXPECT_EQ(std::string(seen.at("text").as_string()), message.text);
  EXPECT_TRUE(seen.at("crlf_only").as_bool());
  const boost::json::array& attachments = seen.at("attachments").as_array();
  ASSERT_EQ(attachments.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const boost::json::object& attachment = attachments[i].as_object();
    EXPECT_EQ(attachment.at("filename").as_string(), message.attachments[i].filename);
    EXPECT_EQ(attachment.at("content_type").as_string(), message.attachments[i].content_type);
    EXPECT_EQ(attachment.at("sha256").as_string(), Sha256Hex(message.attachments[i].data));
  }
}

// A non-ASCII subject becomes encoded-words of at most 75 characters that decode to the original,
// split only between characters; an ASCII subject stays as it is unless it looks encoded.
TEST_F(MimeTest, EncodesNonAsciiHeaderText) {
  EXPECT_EQ(EncodeHeaderText("Your tickets"), "Your tickets");
  const std::string tricky = "=?UTF-8?B?aGk=?= is not an encoded word here";
  EXPECT_EQ(DecodeEncodedWords(EncodeHeaderText(tricky)), tricky);
  const std::string long_text = "Грüße 🎫 " + std::string(40, 'x') + " ✓ — конец страницы " +
                                "日本語のテキストもここに入ります";
  const std::string encoded = EncodeHeaderText(long_text);
  EXPECT_EQ(DecodeEncodedWords(encoded), long_text);
  for (const std::string& line : SplitCrlf(encoded)) {
    EXPECT_LE(line.size(), 76u);
    // Every chunk is valid UTF-8 on its own: no character is cut in two.
    const std::string chunk = DecodeEncodedWords(line);
    EXPECT_FALSE(chunk.empty());
    EXPECT_NE(static_cast<unsigned char>(chunk.front()) & 0xc0, 0x80);
  }
}

// Quoted-printable: '=' and bytes outside printable ASCII are escaped, blanks at the end of a line
// are escaped, every line break becomes CRLF, and long lines get soft breaks within 76 characters.
TEST_F(MimeTest, QuotedPrintableRoundTripsAndKeepsLinesShort) {
  EXPECT_EQ(EncodeQuotedPrintable("a=b"), "a=3Db\r\n");
  EXPECT_EQ(EncodeQuotedPrintable("end \nx\t"), "end=20\r\nx=09\r\n");
  EXPECT_EQ(EncodeQuotedPrintable("a\r\nb\rc\n"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(EncodeQuotedPrintable("é"), "=C3=A9\r\n");
  const std::string long_line = std::string(100, 'y') + "=" + std::string(200, 'z') + "ü";
  const std::string encoded = EncodeQuotedPrintable(long_line);
  for (const std::string& line : SplitCrlf(encoded)) EXPECT_LE(line.size(), 76u);
  EXPECT_EQ(DecodeQuotedPrintable(encoded), long_line + "\r\n");
}

// Base64 lines are exactly 76 characters but the last, each ended by CRLF.
TEST_F(MimeTest, Base64LinesAre76Characters) {
  const std::string encoded = EncodeBase64Lines(AllBytes());
  const std::vector<std::string> lines = SplitCrlf(encoded);
  ASSERT_GT(lines.size(), 2u);
  EXPECT_EQ(lines.back(), "");
  for (std::size_t i = 0; i + 2 < lines.size(); ++i) EXPECT_EQ(lines[i].size(), 76u);
  EXPECT_EQ(DecodeBase64(encoded), AllBytes());
  EXPECT_EQ(EncodeBase64Lines(""), "");
}

// CR or LF in any field that reaches a header is refused, so no header (such as Bcc) can be added.
TEST_F(MimeTest, RefusesHeaderInjection) {
  const auto code_for = [](MailMessage message, Sender sender = {}) {
    Result<std::string> built = BuildMimeMessage(message, sender, kDate);
    EXPECT_FALSE(built);
    if (!built) {
      EXPECT_EQ(built.error().kind, ErrorKind::kUnprocessable);
    }
    return built ? std::string("built") : built.error().code;
  };
  MailMessage message = TicketMail();
  message.to = "fan@example.com\r\nBcc: everyone@example.com";
  EXPECT_EQ(code_for(message), "mail_header_injection");
  message = TicketMail();
  message.subject = "Tickets\nBcc: everyone@example.com";
  EXPECT_EQ(code_for(message), "mail_header_injection");
  message = TicketMail();
  message.subject = "Tickets\r";
  EXPECT_EQ(code_for(message), "mail_header_injection");
  message = TicketMail();
  message.message_id = "<a@b>\r\nBcc: x@y";
  EXPECT_EQ(code_for(message), "mail_header_injection");
  message = TicketMail();
  message.attachments[0].filename = "a.svg\r\nContent-Type: text/html";
  EXPECT_EQ(code_for(message), "mail_header_injection");
  EXPECT_EQ(code_for(TicketMail(), {"tickets@boxoffice.test", "Box\r\nBcc: x@y"}),
            "mail_header_injection");
}

// Only plain local@domain addresses are accepted: no display names, lists, spaces or controls.
TEST_F(MimeTest, ValidatesAddresses) {
  EXPECT_TRUE(ValidateAddress("fan+tag@example.co.uk"));
  for (const char* bad : {"", "fan", "@example.com", "fan@", "a@b@c", "<fan@example.com>",
                          "Fan <fan@example.com>", "fan@example.com, other@example.com",
                          "fan @example.com", "fän@example.com", "fan@example.com\t"}) {
    Status status = ValidateAddress(bad);
    ASSERT_FALSE(status) << bad;
    EXPECT_EQ(status.error().code, "invalid_address") << bad;
  }
  EXPECT_FALSE(ValidateAddress(std::string(250, 'a') + "@b.cd"));
}

// The mailer's rule is the one the API checks a fan's address with (common/mail_address.hpp):
// whatever the API took, the mailer sends to, and the other way round.
TEST_F(MimeTest, AddressRuleIsTheOneTheApiApplies) {
  for (const char* address :
       {"fan@example.com", "fan+tag@example.co.uk", "a@b", "fan@example.com\r\nBcc: x@y",
        "\"x\" <a@b>, c@d", "Fan <fan@example.com>", "f\xc3\xa4n@example.com",
        "fan @example.com"}) {
    EXPECT_EQ(static_cast<bool>(ValidateAddress(address)), IsPlainMailAddress(address)) << address;
  }
  Status injected = ValidateAddress("fan@example.com\r\nBcc: x@y");
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().code, "mail_header_injection");
}

// Message ids get their angle brackets; malformed ones are refused.
TEST_F(MimeTest, NormalizesMessageIds) {
  EXPECT_EQ(NormalizeMessageId("ord_1.confirmation@host").value(), "<ord_1.confirmation@host>");
  EXPECT_EQ(NormalizeMessageId("<ord_1@host>").value(), "<ord_1@host>");
  for (const char* bad : {"", "<>", "no-at-sign", "<a@b@c>", "a b@c", "<a<b@c>", "a@"}) {
    Result<std::string> id = NormalizeMessageId(bad);
    ASSERT_FALSE(id) << bad;
    EXPECT_EQ(id.error().code, "invalid_message_id") << bad;
  }
}

// Subjects must be clean UTF-8, attachments need a name and a media type, and sizes are bounded.
TEST_F(MimeTest, RefusesInvalidContentAndEnforcesLimits) {
  const auto code_for = [](const MailMessage& message) {
    Result<std::string> built = BuildMimeMessage(message, {}, kDate);
    return built ? std::string("built") : built.error().code;
  };
  MailMessage message = TicketMail();
  message.subject = "bad \xff byte";
  EXPECT_EQ(code_for(message), "invalid_subject");
  message.subject = "tab\tand bell\a";
  EXPECT_EQ(code_for(message), "invalid_subject");
  message.subject = std::string(901, 's');
  EXPECT_EQ(code_for(message), "invalid_subject");
  message = TicketMail();
  message.attachments[0].content_type = "svg";
  EXPECT_EQ(code_for(message), "invalid_attachment");
  message = TicketMail();
  message.attachments[0].filename = "quote\".svg";
  EXPECT_EQ(code_for(message), "invalid_attachment");
  message = TicketMail();
  message.attachments.resize(kAttachmentsMax + 1, {"a.txt", "text/plain", "a"});
  EXPECT_EQ(code_for(message), "invalid_attachment");
  message = TicketMail();
  message.attachments[1].data.assign(kContentBytesMax, 'x');
  EXPECT_EQ(code_for(message), "mail_too_large");
}

// The same message built twice is the same bytes (so a resent mail replaces its file exactly).
TEST_F(MimeTest, Deterministic) {
  EXPECT_EQ(BuildMimeMessage(TicketMail(), {}, kDate).value(),
            BuildMimeMessage(TicketMail(), {}, kDate).value());
}

// Dates are RFC 5322 in UTC whatever the locale or time zone.
TEST_F(MimeTest, FormatsDates) {
  EXPECT_EQ(FormatRfc5322Date(kDate), "Fri, 15 Jan 2027 08:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(TimePoint(std::chrono::seconds(951782400))),
            "Tue, 29 Feb 2000 00:00:00 +0000");
}

}  // namespace
}  // namespace boxoffice::mail
