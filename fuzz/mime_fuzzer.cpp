// The MIME builder (src/mail/mime.cpp), with arbitrary addresses, names, subjects, texts and
// attachments: whatever it accepts must come out as a well-formed message whose header holds only
// the fields it writes (no injected Bcc:, however the input is made), with CRLF line endings,
// no line longer than RFC 5322 allows, and encodings that decode back to what went in.
//
// Input: a selector byte, then fields separated by 0x1f.
//   'a' to, from address, from name, subject, text, message id, then attachments as
//       (filename, content type, data) triples
//   'b' one text: EncodeQuotedPrintable and EncodeBase64Lines, decoded again
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.hpp"
#include "fuzz_input.hpp"
#include "mail/mime.hpp"

namespace {

using namespace boxoffice;

constexpr std::string_view kHeaderFields[] = {
    "Message-ID: ", "Date: ",         "From: ",           "To: ",
    "Subject: ",    "MIME-Version: ", "Auto-Submitted: ", "Content-Type: "};

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find("\r\n", start);
    FUZZ_EXPECT(end != std::string_view::npos);  // every line ends with CRLF
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Quoted-printable back to text, with hard line breaks as CRLF.
std::string DecodeQuotedPrintable(std::string_view encoded) {
  std::string out;
  const std::vector<std::string_view> lines = Lines(encoded);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    FUZZ_EXPECT(line.size() <= mail::kEncodedLineCharsMax);
    const bool soft = !line.empty() && line.back() == '=';
    if (soft) line.remove_suffix(1);
    for (std::size_t k = 0; k < line.size(); ++k) {
      if (line[k] != '=') {
        out += line[k];
        continue;
      }
      FUZZ_EXPECT(k + 2 < line.size());
      const int high = HexValue(line[k + 1]);
      const int low = HexValue(line[k + 2]);
      FUZZ_EXPECT(high >= 0 && low >= 0);
      out += static_cast<char>(high * 16 + low);
      k += 2;
    }
    if (!soft && i + 1 < lines.size()) out += "\r\n";
  }
  return out;
}

std::string DecodeBase64(std::string_view text) {
  std::string out(text.size(), '\0');
  std::size_t length = 0;
  FUZZ_EXPECT(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                text.data(), text.size(), nullptr, &length, nullptr,
                                sodium_base64_VARIANT_ORIGINAL) == 0);
  out.resize(length);
  return out;
}

// Line breaks of any kind as CRLF, as EncodeQuotedPrintable promises to write them.
std::string WithCrlf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

void Encodings(std::string_view text) {
  const std::string printable = mail::EncodeQuotedPrintable(text);
  std::string expected = WithCrlf(text);
  // The encoding ends with CRLF; a text that ended with a line break has it already.
  if (expected.size() >= 2 && expected.compare(expected.size() - 2, 2, "\r\n") == 0) {
    expected.resize(expected.size() - 2);
  }
  FUZZ_EXPECT(DecodeQuotedPrintable(printable) == expected);

  const std::string lines = mail::EncodeBase64Lines(text);
  std::string joined;
  for (std::string_view line : Lines(lines)) {
    FUZZ_EXPECT(line.size() <= mail::kEncodedLineCharsMax);
    joined += line;
  }
  FUZZ_EXPECT(DecodeBase64(joined) == text);
}

// The text of an unstructured header as EncodeHeaderText wrote it, decoded.
std::string DecodeHeaderText(const std::vector<std::string_view>& lines) {
  std::string out;
  for (std::string_view line : lines) {
    if (!line.starts_with("=?UTF-8?B?")) return std::string(line);  // written as it was
    FUZZ_EXPECT(line.ends_with("?="));
    out += DecodeBase64(line.substr(10, line.size() - 12));
  }
  return out;
}

void Message(fuzz::FuzzInput& input) {
  MailMessage message;
  mail::Sender sender;
  message.to = std::string(input.Field());
  sender.address = std::string(input.Field());
  sender.name = std::string(input.Field());
  message.subject = std::string(input.Field());
  message.text = std::string(input.Field());
  message.message_id = std::string(input.Field());
  while (!input.empty() && message.attachments.size() <= mail::kAttachmentsMax) {
    MailAttachment attachment;
    attachment.filename = std::string(input.Field());
    attachment.content_type = std::string(input.Field());
    attachment.data = std::string(input.Field());
    message.attachments.push_back(std::move(attachment));
  }
  const Result<std::string> built =
      mail::BuildMimeMessage(message, sender, TimePoint(std::chrono::seconds(1'800'000'000)));
  if (!built) {
    FUZZ_EXPECT(!built.error().code.empty());
    return;
  }
  const std::vector<std::string_view> lines = Lines(*built);
  for (std::string_view line : lines) {
    FUZZ_EXPECT(line.size() <= 998);  // RFC 5322 section 2.1.1
    FUZZ_EXPECT(line.find_first_of("\r\n") == std::string_view::npos);
  }
  // The header: only the fields the builder writes, each once, and folded lines after them.
  std::vector<std::string_view> subject;
  bool in_subject = false;
  std::size_t seen[std::size(kHeaderFields)] = {};
  bool to_found = false;
  for (std::string_view line : lines) {
    if (line.empty()) break;
    if (line.front() == ' ') {
      if (in_subject) subject.push_back(line.substr(1));
      continue;
    }
    in_subject = line.starts_with("Subject: ");
    if (in_subject) subject.push_back(line.substr(9));
    to_found |= line == "To: " + message.to;
    bool known = false;
    for (std::size_t i = 0; i < std::size(kHeaderFields); ++i) {
      if (!line.starts_with(kHeaderFields[i])) continue;
      known = true;
      ++seen[i];
    }
    FUZZ_EXPECT(known);
  }
  for (std::size_t count : seen) FUZZ_EXPECT(count == 1);
  FUZZ_EXPECT(to_found);
  FUZZ_EXPECT(DecodeHeaderText(subject) == message.subject);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput input(data, size);
  switch (input.Select(2)) {
    case 0:
      Message(input);
      break;
    default:
      Encodings(input.rest());
      break;
  }
  return 0;
}
