#include "common/time.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace boxoffice {

// The bounds of time.hpp name the dates they say, and the end fits a TimePoint.
static_assert(std::chrono::sys_days(std::chrono::year(2262) / 1 / 1).time_since_epoch().count() *
                  86'400 ==
              kEndUnixSeconds);
static_assert(
    kEndUnixSeconds <
    std::chrono::floor<std::chrono::seconds>(TimePoint::max().time_since_epoch()).count());

namespace {

bool ReadDigits(std::string_view text, std::size_t& at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += count;
  return true;
}

bool Expect(std::string_view text, std::size_t& at, char c) {
  if (at >= text.size() || std::toupper(static_cast<unsigned char>(text[at])) != c) return false;
  ++at;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<TimePoint> ParseRfc3339(std::string_view text) {
  std::size_t at = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, at, 4, year) || !Expect(text, at, '-') || !ReadDigits(text, at, 2, month) ||
      !Expect(text, at, '-') || !ReadDigits(text, at, 2, day) || !Expect(text, at, 'T') ||
      !ReadDigits(text, at, 2, hour) || !Expect(text, at, ':') ||
      !ReadDigits(text, at, 2, minute) || !Expect(text, at, ':') ||
      !ReadDigits(text, at, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  long long micros = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int digits = 0;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      if (digits < 6) micros = micros * 10 + (text[at] - '0');
      ++digits;
      ++at;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int offset_s = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '+' ? 1 : -1;
    ++at;
    int offset_hour, offset_minute;
    if (!ReadDigits(text, at, 2, offset_hour) || !Expect(text, at, ':') ||
        !ReadDigits(text, at, 2, offset_minute) || offset_hour > 23 || offset_minute > 59) {
      return std::nullopt;
    }
    offset_s = sign * (offset_hour * 3600 + offset_minute * 60);
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;

  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  // timegm counts in a 64-bit time_t, which holds every year of four digits, so only the
  // conversion to a TimePoint could wrap, and the bound is checked before it.
  static_assert(sizeof(std::time_t) >= sizeof(std::int64_t));
  const std::int64_t seconds = static_cast<std::int64_t>(timegm(&tm)) - offset_s;
  if (seconds < kEarliestUnixSeconds || seconds >= kEndUnixSeconds) return std::nullopt;
  return TimePoint(std::chrono::seconds(seconds)) + std::chrono::microseconds(micros);
}

std::string FormatRfc3339(TimePoint time) {
  const std::time_t seconds = static_cast<std::time_t>(ToUnixSeconds(time));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string FormatRfc3339Millis(TimePoint time) {
  const std::int64_t millis = ToUnixMillis(time);
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  const int length = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                   tm.tm_min, tm.tm_sec, static_cast<int>(millis % 1000));
  return std::string(buffer, static_cast<std::size_t>(length));
}

std::int64_t ToUnixMillis(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::int64_t ToUnixSeconds(TimePoint time) {
  return std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
}

TimePoint FromUnixMillis(std::int64_t millis) {
  return TimePoint(std::chrono::milliseconds(millis));
}

}  // namespace boxoffice
