// Draws a ticket's signed code as a QR code in SVG, for `GET /v1/tickets/{id}/qr.svg` and the
// confirmation mail. The symbol comes from libqrencode (byte mode); the SVG is one `<path>` of
// run-length merged rectangles, one per horizontal run of dark modules, so a typical ticket code
// (about 150 bytes) draws in about 9 KiB instead of one `<rect>` per dark module. The output
// depends only on the input and the options, so the same ticket always draws the same bytes.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace boxoffice {

// How much of the symbol may be damaged and still scan (ISO/IEC 18004 levels L, M, Q, H).
enum class QrErrorCorrection { kLow, kMedium, kQuartile, kHigh };

struct QrOptions {
  QrErrorCorrection error_correction = QrErrorCorrection::kMedium;
  int scale_px = 4;            // width and height of one module in the SVG's user units (1..64)
  int quiet_zone_modules = 4;  // blank border the standard requires around the symbol (0..16)
};

// The largest input accepted; QR version 40 at level L holds 2,953 bytes, so anything longer can
// never fit, and refusing it early keeps the encoder's work bounded.
inline constexpr std::size_t kQrInputBytesMax = 2953;

// The SVG document for `text` (raw bytes, encoded in 8-bit mode). Unprocessable `qr_too_long`
// when the text does not fit in a QR code at the chosen level, `invalid_qr_input` when it is
// empty or the options are out of range.
Result<std::string> RenderQrSvg(std::string_view text, QrOptions options = {});

}  // namespace boxoffice
