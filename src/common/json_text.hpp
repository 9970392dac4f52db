// JSON text: the one writer of the project's JSON documents, and its string escaping.
//
// Boost.JSON 1.81's serializer writes every double in scientific notation with a capital E
// (`0E0`, `4.987E1`): valid JSON, but not what a person reading an answer expects, nor what the
// API documents (issue 19). SerializeJson writes what Boost's serializer writes, byte for byte,
// except numbers held as doubles: those are written in the shortest form that reads back to the
// same double (std::to_chars), with `.0` added when that form is a whole number (`0.0`, `49.87`,
// `1e+300`), so that a double read back is a double again and an integer stays an integer. A
// double that is not finite, which a boost::json::value can hold but JSON cannot say, is `null`.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace boxoffice {

std::string SerializeJson(const boost::json::value& value);
void AppendJson(std::string& out, const boost::json::value& value);

// `text` as a JSON string literal, quotes included, appended to `out`: `"` and `\` escaped, the
// control characters below 0x20 as `\b \t \n \f \r` or `\u00XX` (as Boost.JSON writes them),
// every other byte as it is (UTF-8 passes through). Also for the bodies that hot paths write by
// hand rather than build as a boost::json value.
void AppendJsonString(std::string& out, std::string_view text);
// Numbers, as SerializeJson writes them, for the bodies written by hand.
void AppendJsonInteger(std::string& out, std::int64_t value);
void AppendJsonInteger(std::string& out, std::uint64_t value);
void AppendJsonDouble(std::string& out, double value);

// Reading what another API answered: the object at `key` of `object`, null when either is
// missing or not an object; the string at `key`, empty when missing or not a string.
const boost::json::object* JsonObjectAt(const boost::json::object* object, std::string_view key);
std::string JsonStringAt(const boost::json::object* object, std::string_view key);

}  // namespace boxoffice
