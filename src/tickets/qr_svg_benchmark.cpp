// Drawing a ticket's QR code happens for every ticket page view and every confirmation mail.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "tickets/qr_svg.hpp"

namespace boxoffice {
namespace {

void BM_RenderQrSvgTicketCode(benchmark::State& state) {
  // About the length of a signed ticket code: ids, seat and a base64url Ed25519 signature.
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string code;
  for (std::size_t i = 0; i < 150; ++i) code += alphabet[(i * 37 + 11) % alphabet.size()];
  std::size_t bytes = 0;
  for (auto _ : state) {
    Result<std::string> svg = RenderQrSvg(code);
    bytes = svg->size();
    benchmark::DoNotOptimize(svg);
  }
  state.counters["svg_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderQrSvgTicketCode);

}  // namespace
}  // namespace boxoffice
