#include "tickets/qr_svg.hpp"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace boxoffice {
namespace {

using Grid = std::vector<std::vector<bool>>;

// A ticket code of the shape the orders service signs: about 150 base64url characters.
const std::string kTicketCode =
    "eyJlIjoiZXZ0X2szajlhYmNkZWZnaGlqa2wiLCJ0IjoidGt0X2FiY2RlZmdoaWprbG1ub3AiLCJzIjoiMTAxLUEtMTIiLC"
    "Jv"
    "Ijoib3JkX3F3ZXJ0eXVpb3Bhc2RmZ2gifQ.c2lnbmF0dXJlX2J5dGVz";

// The text between `before` and the next `after`; fails the test when either is missing.
std::string Between(const std::string& text, const std::string& before, const std::string& after) {
  const std::size_t start = text.find(before);
  EXPECT_NE(start, std::string::npos) << before;
  if (start == std::string::npos) return "";
  const std::size_t end = text.find(after, start + before.size());
  EXPECT_NE(end, std::string::npos) << after;
  return text.substr(start + before.size(), end - start - before.size());
}

// The side of the square viewBox="0 0 N N", in modules.
int ViewBoxSize(const std::string& svg) {
  int width = 0;
  int height = 0;
  EXPECT_EQ(std::sscanf(Between(svg, "viewBox=\"", "\"").c_str(), "0 0 %d %d", &width, &height), 2);
  EXPECT_EQ(width, height);
  return width;
}

// Redraws the SVG's path into a module grid: every "Mx,yhNv1h-Nz" paints N modules of row y.
// (Parsed by hand: std::regex recurses per character and overflows the stack on long paths.)
Grid GridFromSvg(const std::string& svg) {
  const int size = ViewBoxSize(svg);
  Grid grid(size, std::vector<bool>(size, false));
  const std::string d = Between(svg, "<path fill=\"#000\" d=\"", "\"");
  std::size_t position = 0;
  while (position < d.size()) {
    int x = 0;
    int y = 0;
    int length = 0;
    int back = 0;
    int consumed = 0;
    const int fields =
        std::sscanf(d.c_str() + position, "M%d,%dh%dv1h-%dz%n", &x, &y, &length, &back, &consumed);
    EXPECT_EQ(fields, 4) << "unparsed path text at " << d.substr(position, 20);
    if (fields != 4 || consumed == 0) break;
    position += static_cast<std::size_t>(consumed);
    EXPECT_EQ(length, back);
    EXPECT_GT(length, 0);
    for (int i = 0; i < length; ++i) {
      EXPECT_FALSE(grid.at(y).at(x + i)) << "two runs paint the same module";
      grid.at(y).at(x + i) = true;
    }
  }
  return grid;
}

// libqrencode's own matrix for the same input, framed by `quiet` blank modules.
Grid ReferenceGrid(const std::string& text, QRecLevel level, int quiet) {
  QRcode* code = QRcode_encodeData(static_cast<int>(text.size()),
                                   reinterpret_cast<const unsigned char*>(text.data()), 0, level);
  EXPECT_NE(code, nullptr);
  const int size = code->width + 2 * quiet;
  Grid grid(size, std::vector<bool>(size, false));
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      grid[y + quiet][x + quiet] = (code->data[y * code->width + x] & 1) != 0;
    }
  }
  QRcode_free(code);
  return grid;
}

// The drawn modules are exactly libqrencode's matrix, for short, typical, binary and long inputs.
TEST(QrSvgTest, ModulesMatchLibqrencodeMatrix) {
  const std::vector<std::string> inputs = {"A", kTicketCode, std::string("bin\0ary\xff\x01", 10),
                                           std::string(1000, 'x') + "end"};
  for (const std::string& input : inputs) {
    Result<std::string> svg = RenderQrSvg(input);
    ASSERT_TRUE(svg) << input;
    EXPECT_EQ(GridFromSvg(*svg), ReferenceGrid(input, QR_ECLEVEL_M, 4)) << input;
  }
}

// The chosen error correction level reaches the encoder: level H draws a larger symbol than L.
TEST(QrSvgTest, ErrorCorrectionLevelIsHonoured) {
  Result<std::string> low = RenderQrSvg(kTicketCode, {.error_correction = QrErrorCorrection::kLow});
  Result<std::string> high =
      RenderQrSvg(kTicketCode, {.error_correction = QrErrorCorrection::kHigh});
  ASSERT_TRUE(low && high);
  EXPECT_EQ(GridFromSvg(*low), ReferenceGrid(kTicketCode, QR_ECLEVEL_L, 4));
  EXPECT_EQ(GridFromSvg(*high), ReferenceGrid(kTicketCode, QR_ECLEVEL_H, 4));
  EXPECT_LT(ViewBoxSize(*low), ViewBoxSize(*high));
}

// Four blank modules surround the symbol on every side, and its finder pattern starts right after.
TEST(QrSvgTest, QuietZoneIsBlank) {
  Result<std::string> svg = RenderQrSvg(kTicketCode);
  ASSERT_TRUE(svg);
  const Grid grid = GridFromSvg(*svg);
  const int size = static_cast<int>(grid.size());
  for (int i = 0; i < size; ++i) {
    for (int border = 0; border < 4; ++border) {
      EXPECT_FALSE(grid[border][i]);
      EXPECT_FALSE(grid[size - 1 - border][i]);
      EXPECT_FALSE(grid[i][border]);
      EXPECT_FALSE(grid[i][size - 1 - border]);
    }
  }
  EXPECT_TRUE(grid[4][4]) << "the top-left finder pattern starts after the quiet zone";
}

// Width and height are the module count times the scale; the rendering hint is present.
TEST(QrSvgTest, SizeFollowsScale) {
  Result<std::string> svg = RenderQrSvg(kTicketCode, {.scale_px = 7, .quiet_zone_modules = 2});
  ASSERT_TRUE(svg);
  const int size = ViewBoxSize(*svg);
  const std::string px = std::to_string(size * 7);
  EXPECT_NE(svg->find("width=\"" + px + "\" height=\"" + px + "\""), std::string::npos);
  EXPECT_NE(svg->find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_EQ(GridFromSvg(*svg), ReferenceGrid(kTicketCode, QR_ECLEVEL_M, 2));
}

// Runs are merged: a typical ticket code draws as one path of a few hundred runs, not one
// rectangle per dark module, and stays small.
TEST(QrSvgTest, RunsAreMergedSoTheDocumentStaysSmall) {
  Result<std::string> svg = RenderQrSvg(kTicketCode);
  ASSERT_TRUE(svg);
  const Grid grid = GridFromSvg(*svg);
  std::size_t dark = 0;
  for (const auto& row : grid) dark += std::count(row.begin(), row.end(), true);
  const std::size_t runs = std::count(svg->begin(), svg->end(), 'M');
  EXPECT_LT(runs, dark * 2 / 3);
  EXPECT_EQ(std::count(svg->begin(), svg->end(), '<'), 4) << "svg, background, one path, </svg>";
  EXPECT_LT(svg->size(), 12u * 1024);
}

// The same input always draws the same bytes.
TEST(QrSvgTest, Deterministic) {
  EXPECT_EQ(RenderQrSvg(kTicketCode).value(), RenderQrSvg(kTicketCode).value());
  EXPECT_NE(RenderQrSvg(kTicketCode).value(), RenderQrSvg(kTicketCode + "x").value());
}

// Input that no QR code can hold is refused as unprocessable, not crashed on or truncated.
TEST(QrSvgTest, TooLongInputIsUnprocessable) {
  // Fits at level L (2,953 bytes max) but not at M (2,331 bytes max): the encoder decides.
  Result<std::string> over_medium = RenderQrSvg(std::string(2500, 'z'));
  ASSERT_FALSE(over_medium);
  EXPECT_EQ(over_medium.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(over_medium.error().code, "qr_too_long");
  EXPECT_TRUE(RenderQrSvg(std::string(2500, 'z'), {.error_correction = QrErrorCorrection::kLow}));
  Result<std::string> huge = RenderQrSvg(std::string(1 << 20, 'z'));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, "qr_too_long");
}

// Empty input and out-of-range options are refused.
TEST(QrSvgTest, InvalidInputIsUnprocessable) {
  EXPECT_EQ(RenderQrSvg("").error().code, "invalid_qr_input");
  EXPECT_EQ(RenderQrSvg("x", {.scale_px = 0}).error().code, "invalid_qr_input");
  EXPECT_EQ(RenderQrSvg("x", {.scale_px = 65}).error().code, "invalid_qr_input");
  EXPECT_EQ(RenderQrSvg("x", {.quiet_zone_modules = -1}).error().code, "invalid_qr_input");
}

}  // namespace
}  // namespace boxoffice
