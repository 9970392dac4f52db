#include "http/message.hpp"

#include "common/text.hpp"

namespace boxoffice::http {
namespace {

// Requests carry a handful of headers and parameters, so a scan beats building a map per request.
std::optional<std::string_view> FindFirst(
    const std::vector<std::pair<std::string, std::string>>& pairs, std::string_view name) {
  for (const auto& [key, value] : pairs) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  return FindFirst(headers, name);
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  return FindFirst(query, name);
}

std::string_view Request::PathParam(std::string_view name) const {
  return FindFirst(path_params, name).value_or(std::string_view());
}

bool Request::IfNoneMatch(std::string_view etag) const {
  const std::optional<std::string_view> tags = Header("if-none-match");
  return tags && EtagListNames(*tags, etag);
}

bool EtagListNames(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const std::size_t comma = if_none_match.find(',');
    std::string_view tag = TrimBlanks(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace boxoffice::http
