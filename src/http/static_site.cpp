#include "http/static_site.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <utility>

#include "common/crypto.hpp"
#include "common/text.hpp"
#include "http/ascii.hpp"
#include "http/compression.hpp"

namespace boxoffice::http {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

std::string_view ContentTypeFor(std::string_view extension) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  for (const auto& [known, type] : kTypes) {
    if (known == extension) return type;
  }
  return "application/octet-stream";
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return content;
}

Error SiteError(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_web_dir", std::move(message));
}

}  // namespace

Result<StaticSite> StaticSite::Load(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return SiteError("The web dir " + dir + " is not a folder.");
  StaticSite site;
  std::vector<fs::path> paths;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    const std::string extension = it->path().extension().string();
    if (extension == ".gz" || extension == ".br") continue;  // read with the file they encode
    paths.push_back(it->path());
    if (paths.size() > kFilesMax) {
      return SiteError("The web dir " + dir + " holds more than " + std::to_string(kFilesMax) +
                       " files; is it a web build?");
    }
  }
  if (error) return SiteError("Cannot list the web dir " + dir + ": " + error.message());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    StaticFile file;
    file.path = "/" + fs::relative(path, dir, error).generic_string();
    if (error) return SiteError("Cannot read " + path.string() + ": " + error.message());
    std::optional<std::string> content = ReadFile(path);
    if (!content) return SiteError("Cannot read " + path.string() + ".");
    file.identity = std::move(*content);
    file.gzip = ReadFile(path.string() + ".gz").value_or("");
    file.brotli = ReadFile(path.string() + ".br").value_or("");
    file.content_type = std::string(ContentTypeFor(path.extension().string()));
    file.etag = "\"" + Sha256Hex(file.identity).substr(0, 32) + "\"";
    file.immutable = file.path.starts_with("/assets/");
    site.bytes_ += file.identity.size() + file.gzip.size() + file.brotli.size();
    if (site.bytes_ > kBytesMax) {
      return SiteError("The web dir " + dir + " holds more than " +
                       std::to_string(kBytesMax >> 20) + " MiB; is it a web build?");
    }
    site.by_path_.emplace(file.path, site.files_.size());
    site.files_.push_back(std::move(file));
  }
  if (site.Find("/index.html") == nullptr) {
    return SiteError("The web dir " + dir + " has no index.html; build it with `make web`.");
  }
  return site;
}

const StaticFile* StaticSite::Find(std::string_view path) const {
  const auto found = by_path_.find(std::string(path));
  return found == by_path_.end() ? nullptr : &files_[found->second];
}

Response StaticSite::Answer(const Request& request, const StaticFile& file) {
  Response response;
  response.content_type = file.content_type;
  response.SetHeader("ETag", file.etag);
  response.SetHeader("Cache-Control", std::string(file.immutable ? kImmutable : kRevalidate));
  response.SetHeader("Vary", "Accept-Encoding");
  if (request.IfNoneMatch(file.etag)) {
    response.status = 304;
    return response;
  }
  const std::string_view accepted = request.Header("accept-encoding").value_or("");
  if (!file.brotli.empty() && AcceptsEncoding(accepted, "br")) {
    response.SetHeader("Content-Encoding", "br");
    response.body = file.brotli;
  } else if (!file.gzip.empty() && AcceptsEncoding(accepted, "gzip")) {
    response.SetHeader("Content-Encoding", "gzip");
    response.body = file.gzip;
  } else {
    response.body = file.identity;
  }
  return response;
}

}  // namespace boxoffice::http
