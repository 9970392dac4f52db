// Signing and verifying tokens sits on every authenticated request.
#include <benchmark/benchmark.h>

#include "common/crypto.hpp"
#include "common/token.hpp"

namespace boxoffice {
namespace {

void BM_TokenSign(benchmark::State& state) {
  InitCrypto();
  const TokenSigner signer("benchmark secret", "session");
  for (auto _ : state) {
    benchmark::DoNotOptimize(signer.Sign({"ses_abcdefghijklmnopqrst", "", "1800000000"}));
  }
}
BENCHMARK(BM_TokenSign);

void BM_TokenVerify(benchmark::State& state) {
  InitCrypto();
  const TokenSigner signer("benchmark secret", "session");
  const std::string token = signer.Sign({"ses_abcdefghijklmnopqrst", "", "1800000000"});
  for (auto _ : state) benchmark::DoNotOptimize(signer.Verify(token));
}
BENCHMARK(BM_TokenVerify);

}  // namespace
}  // namespace boxoffice
