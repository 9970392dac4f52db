// A folder of built web files (the fan page: web/dist), read into memory once at start and
// answered from there: no disk read on a request, and a stampede of page loads costs what a status
// poll costs. The build writes `x.gz` and `x.br` beside every text file `x`; they are `x`'s
// encodings, sent when the client accepts them, not files of their own.
//
// Caching: a file under `assets/` has its content's hash in its name (Vite does that), so it is
// sent `immutable` for a year; anything else (index.html) is `no-cache`, revalidated by its ETag.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "http/message.hpp"

namespace boxoffice::http {

struct StaticFile {
  std::string path;          // as requested: "/index.html", "/assets/index-3f2a9c.js"
  std::string content_type;  // from the extension; application/octet-stream when unknown
  std::string etag;          // strong: a hash of the content, quoted
  bool immutable = false;    // under assets/
  std::string identity;
  std::string gzip;    // empty: no gzip form
  std::string brotli;  // empty: no brotli form
};

class StaticSite {
 public:
  // Bounds: a web build is a few dozen files of a few hundred KB; anything far larger is not
  // one, and is refused rather than held in memory.
  static constexpr std::size_t kFilesMax = 2'000;
  static constexpr std::size_t kBytesMax = 64 << 20;

  // Reads every regular file below `dir`. Fails (404-free: the caller decides) when `dir` is not a
  // folder, holds no index.html, or is over the bounds.
  static Result<StaticSite> Load(const std::string& dir);

  const StaticFile* Find(std::string_view path) const;
  const std::vector<StaticFile>& files() const { return files_; }
  std::size_t bytes() const { return bytes_; }

  // The answer for `request`: 304 when its If-None-Match names the file's ETag, else 200 with the
  // smallest encoding it accepts (brotli, gzip, identity), `Vary: Accept-Encoding`, the ETag and
  // the cache policy above.
  static Response Answer(const Request& request, const StaticFile& file);

 private:
  std::vector<StaticFile> files_;
  std::unordered_map<std::string, std::size_t> by_path_;
  std::size_t bytes_ = 0;
};

}  // namespace boxoffice::http
