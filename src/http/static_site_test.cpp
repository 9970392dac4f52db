#include "http/static_site.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace boxoffice::http {
namespace {

namespace fs = std::filesystem;

class StaticSiteTest : public ::testing::Test {
 protected:
  void Write(const std::string& relative, std::string_view content) {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }

  StaticSite Load() {
    Result<StaticSite> site = StaticSite::Load(dir_.string());
    EXPECT_TRUE(site) << (site ? "" : site.error().message);
    return site ? std::move(site).value() : StaticSite();
  }

  static std::optional<std::string> HeaderOf(const Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

  static Request Get(std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request request;
    request.headers = std::move(headers);
    return request;
  }

  test_support::TempDir temp_{"boxoffice-static-site"};
  fs::path dir_ = temp_.path();
};

TEST_F(StaticSiteTest, ReadsEveryFileWithItsEncodingsBesideIt) {
  Write("index.html", "<!doctype html>");
  Write("assets/app-1a2b.js", "console.log(1)");
  Write("assets/app-1a2b.js.gz", "GZ");
  Write("assets/app-1a2b.js.br", "BR");
  Write("favicon.svg", "<svg/>");
  StaticSite site = Load();
  ASSERT_EQ(site.files().size(), 3u);  // the .gz and .br are the script's, not files of their own
  const StaticFile* script = site.Find("/assets/app-1a2b.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->identity, "console.log(1)");
  EXPECT_EQ(script->gzip, "GZ");
  EXPECT_EQ(script->brotli, "BR");
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_TRUE(script->immutable);
  const StaticFile* icon = site.Find("/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
  EXPECT_FALSE(icon->immutable);
  EXPECT_EQ(site.Find("/missing.js"), nullptr);
  EXPECT_EQ(site.Find("/assets/app-1a2b.js.gz"), nullptr);
}

TEST_F(StaticSiteTest, RefusesAFolderThatIsNotAWebBuild) {
  EXPECT_FALSE(StaticSite::Load((dir_ / "nowhere").string()));
  Write("assets/app.js", "x");
  Result<StaticSite> without_index = StaticSite::Load(dir_.string());
  ASSERT_FALSE(without_index);
  EXPECT_EQ(without_index.error().code, "invalid_web_dir");
}

TEST_F(StaticSiteTest, AnswersTheSmallestEncodingTheClientAccepts) {
  Write("index.html", "<!doctype html>");
  Write("assets/app.js", "identity");
  Write("assets/app.js.gz", "gzip");
  Write("assets/app.js.br", "brotli");
  StaticSite site = Load();
  const StaticFile& file = *site.Find("/assets/app.js");

  Response brotli = StaticSite::Answer(Get({{"accept-encoding", "gzip, deflate, br"}}), file);
  EXPECT_EQ(brotli.body, "brotli");
  EXPECT_EQ(HeaderOf(brotli, "Content-Encoding"), "br");
  EXPECT_EQ(HeaderOf(brotli, "Vary"), "Accept-Encoding");
  EXPECT_EQ(HeaderOf(brotli, "Cache-Control"), "public, max-age=31536000, immutable");

  Response gzip = StaticSite::Answer(Get({{"accept-encoding", "gzip, br;q=0"}}), file);
  EXPECT_EQ(gzip.body, "gzip");
  EXPECT_EQ(HeaderOf(gzip, "Content-Encoding"), "gzip");

  Response plain = StaticSite::Answer(Get(), file);
  EXPECT_EQ(plain.body, "identity");
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), std::nullopt);
}

TEST_F(StaticSiteTest, PagesRevalidateAndAMatchingTagIs304) {
  Write("index.html", "<!doctype html><title>one</title>");
  StaticSite site = Load();
  const StaticFile& index = *site.Find("/index.html");
  Response first = StaticSite::Answer(Get(), index);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(first, "Cache-Control"), "no-cache");
  const std::optional<std::string> etag = HeaderOf(first, "ETag");
  ASSERT_TRUE(etag);

  Response again = StaticSite::Answer(Get({{"if-none-match", "\"other\", " + *etag}}), index);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(StaticSite::Answer(Get({{"if-none-match", "W/" + *etag}}), index).status, 304);
  EXPECT_EQ(StaticSite::Answer(Get({{"if-none-match", "\"stale\""}}), index).status, 200);

  // Another build of the page is another tag.
  Write("index.html", "<!doctype html><title>two</title>");
  StaticSite rebuilt = Load();
  EXPECT_NE(rebuilt.Find("/index.html")->etag, index.etag);
}

}  // namespace
}  // namespace boxoffice::http
