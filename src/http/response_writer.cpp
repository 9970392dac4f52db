#include "http/response_writer.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/log.hpp"
#include "http/ascii.hpp"

namespace boxoffice::http::internal {
namespace {

namespace bhttp = boost::beast::http;
// Literals appended to answers as string_views: no strlen per piece of every head.
using namespace std::string_view_literals;

void AppendHex(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, 16);
  out.append(buffer, result.ptr);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Rejects what would split or end the header block (response splitting).
bool IsValidHeaderValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Headers the server writes itself; a handler's copy would contradict them.
bool IsManagedHeader(std::string_view name) {
  for (std::string_view managed : {"content-length", "transfer-encoding", "connection", "server",
                                   "date", "x-request-id", "strict-transport-security"}) {
    if (EqualsIgnoreCase(name, managed)) return true;
  }
  return false;
}

std::string_view ReasonPhrase(int status) {
  const auto known = bhttp::int_to_status(static_cast<unsigned>(status));
  if (known == bhttp::status::unknown) return "Unknown";
  const auto reason = bhttp::obsolete_reason(known);
  return std::string_view(reason.data(), reason.size());
}

}  // namespace

void AppendNumber(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

std::string_view HttpDate(std::int64_t now_ns) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local int length = 0;
  const std::time_t now = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(std::chrono::nanoseconds(now_ns)).count());
  if (now != cached_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    length = std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                           kDays[utc.tm_wday], utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900,
                           utc.tm_hour, utc.tm_min, utc.tm_sec);
    cached_second = now;
  }
  return std::string_view(text, static_cast<std::size_t>(length));
}

void AppendContinueHead(std::string& out) { out += "HTTP/1.1 100 Continue\r\n\r\n"sv; }

void AppendResponseHead(const Response& response, const HeadContext& context, std::string& out) {
  const int status = response.status;
  const bool stream = response.stream.has_value();
  out += "HTTP/1.1 "sv;
  AppendNumber(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\nServer: boxoffice\r\nDate: "sv;
  out += HttpDate(context.now_ns);
  out += "\r\n"sv;
  if (stream) {
    // No Content-Length: chunked on HTTP/1.1, delimited by the close on HTTP/1.0.
    out += "Content-Type: text/event-stream\r\nCache-Control: no-store\r\n"sv;
    if (context.version >= 11) out += "Transfer-Encoding: chunked\r\n"sv;
  } else if (status != 204 && status != 304) {
    // RFC 9110 section 8.6: no Content-Length (and no body) on 204 and 304.
    bool has_content_type = false;
    for (const auto& [name, value] : response.headers) {
      if (EqualsIgnoreCase(name, "content-type")) has_content_type = true;
    }
    if (!has_content_type && !response.content_type.empty() &&
        IsValidHeaderValue(response.content_type)) {
      out += "Content-Type: "sv;
      out += response.content_type;
      out += "\r\n"sv;
    }
    out += "Content-Length: "sv;
    AppendNumber(out, response.body.size());
    out += "\r\n"sv;
  }
  out += "X-Request-Id: "sv;
  out += context.request_id;
  out += "\r\n"sv;
  if (!context.hsts.empty()) {
    out += "Strict-Transport-Security: "sv;
    out += context.hsts;
    out += "\r\n"sv;
  }
  for (const auto& [name, value] : response.headers) {
    if (IsManagedHeader(name)) continue;
    if (stream &&
        (EqualsIgnoreCase(name, "content-type") || EqualsIgnoreCase(name, "cache-control"))) {
      continue;
    }
    if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
      LogWarn("http_invalid_header_dropped",
              {{"header", name}, {"request_id", context.request_id}});
      continue;
    }
    out += name;
    out += ": "sv;
    out += value;
    out += "\r\n"sv;
  }
  if (context.close) {
    out += "Connection: close\r\n"sv;
  } else if (context.version < 11) {
    out += "Connection: keep-alive\r\n"sv;
  }
  out += "\r\n"sv;
}

void AppendChunk(std::string_view data, std::string& out) {
  AppendHex(out, data.size());
  out += "\r\n"sv;
  out += data;
  out += "\r\n"sv;
}

}  // namespace boxoffice::http::internal
