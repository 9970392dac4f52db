#include "tickets/qr_svg.hpp"

#include <qrencode.h>

#include <cerrno>
#include <memory>

namespace boxoffice {
namespace {

constexpr int kScalePxMax = 64;
constexpr int kQuietZoneModulesMax = 16;

QRecLevel ToLevel(QrErrorCorrection level) {
  switch (level) {
    case QrErrorCorrection::kLow:
      return QR_ECLEVEL_L;
    case QrErrorCorrection::kMedium:
      return QR_ECLEVEL_M;
    case QrErrorCorrection::kQuartile:
      return QR_ECLEVEL_Q;
    case QrErrorCorrection::kHigh:
      return QR_ECLEVEL_H;
  }
  return QR_ECLEVEL_M;
}

struct QrCodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

Error InvalidInput(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_qr_input", std::move(message));
}

Error TooLong(std::size_t bytes) {
  return Error::Make(ErrorKind::kUnprocessable, "qr_too_long",
                     "The text is too long for a QR code at this error correction level.",
                     {{"bytes", bytes}});
}

}  // namespace

Result<std::string> RenderQrSvg(std::string_view text, QrOptions options) {
  if (text.empty()) return InvalidInput("A QR code needs at least one byte of text.");
  if (options.scale_px < 1 || options.scale_px > kScalePxMax) {
    return InvalidInput("The QR scale must be between 1 and 64 pixels per module.");
  }
  if (options.quiet_zone_modules < 0 || options.quiet_zone_modules > kQuietZoneModulesMax) {
    return InvalidInput("The QR quiet zone must be between 0 and 16 modules.");
  }
  if (text.size() > kQrInputBytesMax) return TooLong(text.size());

  errno = 0;
  // Version 0 lets libqrencode pick the smallest version that holds the data.
  const std::unique_ptr<QRcode, QrCodeDeleter> code(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0,
      ToLevel(options.error_correction)));
  if (!code) {
    if (errno == ERANGE) return TooLong(text.size());
    return Error::Internal("libqrencode failed to encode a QR code.");
  }

  const int width = code->width;
  const int quiet = options.quiet_zone_modules;
  const int size = width + 2 * quiet;
  const std::string size_px = std::to_string(size * options.scale_px);
  const std::string size_modules = std::to_string(size);

  std::string svg;
  // About 14 bytes per run and a few runs per row; reserving avoids most regrowth.
  svg.reserve(256 + static_cast<std::size_t>(width) * static_cast<std::size_t>(width) * 3);
  svg += R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )";
  svg += size_modules + ' ' + size_modules;
  svg += R"(" width=")" + size_px + R"(" height=")" + size_px;
  svg += R"(" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/>)";
  svg += R"(<path fill="#000" d=")";
  // Bit 0 of each byte is the module's colour (1 = dark); the other bits describe its role.
  const unsigned char* modules = code->data;
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = modules + static_cast<std::size_t>(y) * width;
    int x = 0;
    while (x < width) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < width && (row[x] & 1) != 0) ++x;
      const std::string run = std::to_string(x - start);
      svg += 'M';
      svg += std::to_string(start + quiet);
      svg += ',';
      svg += std::to_string(y + quiet);
      svg += 'h';
      svg += run;
      svg += "v1h-";
      svg += run;
      svg += 'z';
    }
  }
  svg += R"("/></svg>)";
  svg += '\n';
  return svg;
}

}  // namespace boxoffice
