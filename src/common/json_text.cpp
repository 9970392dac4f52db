#include "common/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace boxoffice {
namespace {

namespace json = boost::json;

// Whether any of the eight bytes of `word` must be escaped in a JSON string: a control character
// (below 0x20), '"' or '\\'. The classic has-zero-byte test (Hacker's Delight 6-1), three times.
bool NeedsJsonEscape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  auto has_zero = [](std::uint64_t x) { return ((x - kOnes) & ~x & kHighs) != 0; };
  const bool has_control = ((word - kOnes * 0x20) & ~word & kHighs) != 0;
  return has_control || has_zero(word ^ (kOnes * '"')) || has_zero(word ^ (kOnes * '\\'));
}

// For each byte, how it is escaped: 0 not at all, 'u' as \u00XX, else the letter after '\'.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> escapes{};
  for (std::size_t byte = 0; byte < 0x20; ++byte) escapes[byte] = 'u';
  escapes['\b'] = 'b';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\f'] = 'f';
  escapes['\r'] = 'r';
  escapes['"'] = '"';
  escapes['\\'] = '\\';
  return escapes;
}();

template <typename Integer>
void AppendDigits(std::string& out, Integer value) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

}  // namespace

void AppendJsonInteger(std::string& out, std::int64_t value) { AppendDigits(out, value); }
void AppendJsonInteger(std::string& out, std::uint64_t value) { AppendDigits(out, value); }

void AppendJsonDouble(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];  // the shortest round-trip form of a double is at most 24 characters
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
  if (std::string_view(buffer, static_cast<std::size_t>(end - buffer)).find_first_of(".e") ==
      std::string_view::npos) {
    out += ".0";
  }
}

// Escaped bytes are copied in runs. Every poll answers with its fan's 143-character ticket, which
// never needs escaping, so the text is first scanned eight bytes at a time for anything that might.
void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t clean = 0;  // text[0, clean) needs no escape
  for (std::uint64_t word; clean + sizeof word <= text.size(); clean += sizeof word) {
    std::memcpy(&word, text.data() + clean, sizeof word);
    if (NeedsJsonEscape(word)) break;
  }
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = clean; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const char escape = kEscapes[byte];
    if (escape == 0) continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    out += '\\';
    if (escape != 'u') {
      out += escape;
    } else {
      out += "u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  out.append(text.substr(run));
  out += '"';
}

void AppendJson(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      AppendJsonInteger(out, value.get_int64());
      return;
    case json::kind::uint64:
      AppendJsonInteger(out, value.get_uint64());
      return;
    case json::kind::double_:
      AppendJsonDouble(out, value.get_double());
      return;
    case json::kind::string:
      AppendJsonString(out, value.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& item : value.get_array()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const json::key_value_pair& member : value.get_object()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, member.key());
        out += ':';
        AppendJson(out, member.value());
      }
      out += '}';
      return;
    }
  }
}

std::string SerializeJson(const json::value& value) {
  std::string out;
  AppendJson(out, value);
  return out;
}

const boost::json::object* JsonObjectAt(const boost::json::object* object, std::string_view key) {
  const boost::json::value* field = object != nullptr ? object->if_contains(key) : nullptr;
  return field != nullptr ? field->if_object() : nullptr;
}

std::string JsonStringAt(const boost::json::object* object, std::string_view key) {
  const boost::json::value* field = object != nullptr ? object->if_contains(key) : nullptr;
  return field != nullptr && field->is_string() ? std::string(field->get_string()) : "";
}

}  // namespace boxoffice
