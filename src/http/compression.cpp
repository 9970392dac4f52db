#include "http/compression.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "common/text.hpp"
#include "http/ascii.hpp"

namespace boxoffice::http {
namespace {

// zlib's windowBits for a gzip wrapper (15, the largest window, + 16), and its default memLevel.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;

bool IsTextual(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.find("json") != std::string_view::npos ||
         content_type.find("javascript") != std::string_view::npos ||
         content_type.find("xml") != std::string_view::npos ||
         content_type.find("yaml") != std::string_view::npos;
}

bool HasHeader(const Response& response, std::string_view name) {
  return std::any_of(response.headers.begin(), response.headers.end(), [&](const auto& header) {
    return internal::EqualsIgnoreCase(header.first, name);
  });
}

}  // namespace

bool AcceptsEncoding(std::string_view accept_encoding, std::string_view coding) {
  bool wildcard = false;
  while (!accept_encoding.empty()) {
    const std::size_t comma = accept_encoding.find(',');
    const std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const std::size_t semicolon = item.find(';');
    const std::string_view name = TrimBlanks(item.substr(0, semicolon));
    bool allowed = true;
    if (semicolon != std::string_view::npos) {
      // "q=0", "q=0.0", "q=0.000" refuse; any other weight accepts.
      std::string_view parameter = TrimBlanks(item.substr(semicolon + 1));
      if (parameter.size() >= 2 && internal::LowerAscii(parameter[0]) == 'q' &&
          parameter[1] == '=') {
        parameter.remove_prefix(2);
        allowed = parameter.find_first_not_of("0.") != std::string_view::npos;
      }
    }
    if (internal::EqualsIgnoreCase(name, coding)) return allowed;
    if (name == "*") wildcard = allowed;
  }
  return wildcard;
}

std::optional<std::string> Gzip(std::string_view data) {
  if (data.size() > std::numeric_limits<uInt>::max()) return std::nullopt;
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  // zlib's interface is not const-correct; it only reads next_in.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  // deflateBound is enough for one Z_FINISH call, whatever the input.
  const int status = deflate(&stream, Z_FINISH);
  const std::size_t written = stream.total_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

void MaybeCompress(const Request& request, Response& response) {
  if (response.stream || response.status < 200 || response.status == 204 ||
      response.status == 304 || response.body.size() < kCompressMinBytes ||
      !IsTextual(response.content_type) || HasHeader(response, "content-encoding") ||
      HasHeader(response, "vary")) {
    return;
  }
  response.SetHeader("Vary", "Accept-Encoding");
  if (!AcceptsEncoding(request.Header("accept-encoding").value_or(""), "gzip")) return;
  std::optional<std::string> gzipped = Gzip(response.body);
  if (!gzipped || gzipped->size() >= response.body.size()) return;
  response.body = std::move(*gzipped);
  response.SetHeader("Content-Encoding", "gzip");
  for (auto& [name, value] : response.headers) {
    if (internal::EqualsIgnoreCase(name, "etag") && !value.starts_with("W/")) {
      value.insert(0, "W/");
    }
  }
}

}  // namespace boxoffice::http
