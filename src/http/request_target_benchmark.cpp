// Every request's target is split and percent-decoded before routing, so this is on the hot path
// of a status poll. Three ways to do it, on the targets the API sees most:
//   HandWritten      ParseRequestTarget (request_target.cpp), what the server runs.
//   BoostUrl         Boost.URL's own parser: parse_uri_reference, then the path and the params
//                    decoded. The idiomatic use, but stricter than the server about characters
//                    (request_target_test.cpp, BoostUrlOriginFormIsStricterThanTheServer).
//   BoostUrlDecoding The same splitting as HandWritten, with Boost.URL validating and decoding
//                    each part (make_pct_string_view, decode): what adopting Boost.URL would mean
//                    while keeping the server's semantics.
// Each benchmark first checks that its variant gives the same path and query as HandWritten.
#include <benchmark/benchmark.h>

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/grammar/string_token.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>

#include <string>
#include <string_view>

#include "http/request_target.hpp"

namespace boxoffice::http {
namespace {

namespace urls = boost::urls;

// A status poll, a seat-map read with filters, and a target a browser percent-encoded.
constexpr std::string_view kStatusPoll = "/v1/events/evt_abc/queue/status";
constexpr std::string_view kSeatsQuery = "/v1/events/evt_abc/seats?section=101&status=available";
constexpr std::string_view kPercentEncoded =
    "/v1/events/evt_abc/seats?section=Upper%20Tier%20101&name=Jos%C3%A9+Garc%C3%ADa&q=a%2Bb";

// Decodes straight into the request's strings (no temporary per part), as the server would.
bool ParseWithBoostUrl(std::string_view target, std::string& path, QueryPairs& query) {
  const auto url = urls::parse_uri_reference(target);
  if (!url) return false;
  if (url->has_scheme() && url->scheme_id() != urls::scheme::http &&
      url->scheme_id() != urls::scheme::https) {
    return false;
  }
  url->encoded_path().decode({}, urls::string_token::assign_to(path));
  if (url->has_scheme() && path.empty()) path = "/";
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos) return false;
  if (!url->has_query()) return true;
  urls::encoding_opts form;
  form.space_as_plus = true;
  for (const auto& param : url->encoded_params()) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    auto& [name, value] = query.emplace_back();
    param.key.decode(form, urls::string_token::assign_to(name));
    param.value.decode(form, urls::string_token::assign_to(value));
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return false;
    }
  }
  return true;
}

bool DecodeWithBoostUrl(std::string_view in, bool plus_is_space, std::string& out) {
  const auto encoded = urls::make_pct_string_view(in);
  if (!encoded) return false;
  urls::encoding_opts options;
  options.space_as_plus = plus_is_space;
  encoded->decode(options, urls::string_token::assign_to(out));
  // An escaped NUL is refused (as PercentDecode does); the cheap test first, as most parts
  // have no escape at all.
  return encoded->decoded_size() == in.size() || in.find("%00") == std::string_view::npos;
}

bool ParseWithBoostUrlDecoding(std::string_view target, std::string& path, QueryPairs& query) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() > scheme.size() &&
        urls::grammar::ci_is_equal(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const auto path_start = target.find_first_of("/?");
      target =
          path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
      if (target.front() == '?') return false;
      break;
    }
  }
  if (const auto fragment = target.find('#'); fragment != std::string_view::npos) {
    target = target.substr(0, fragment);
  }
  const auto question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  if (raw_path.empty() || raw_path.front() != '/') return false;
  if (!DecodeWithBoostUrl(raw_path, false, path)) return false;
  if (question == std::string_view::npos) return true;
  std::string_view raw_query = target.substr(question + 1);
  std::string name;
  std::string value;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (!DecodeWithBoostUrl(pair.substr(0, equals), true, name) ||
        !DecodeWithBoostUrl(raw_value, true, value)) {
      return false;
    }
    query.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

using Parser = bool (*)(std::string_view, std::string&, QueryPairs&);

// Runs `parse` on `target` the way the server does: into a fresh request's path and query.
void RunParser(benchmark::State& state, Parser parse, std::string_view target) {
  std::string expected_path;
  QueryPairs expected_query;
  std::string path;
  QueryPairs query;
  if (!ParseRequestTarget(target, expected_path, expected_query) || !parse(target, path, query) ||
      path != expected_path || query != expected_query) {
    state.SkipWithError("this parser's answer differs from ParseRequestTarget's");
    return;
  }
  for (auto _ : state) {
    std::string request_path;
    QueryPairs request_query;
    benchmark::DoNotOptimize(parse(target, request_path, request_query));
    benchmark::DoNotOptimize(request_path.data());
    benchmark::DoNotOptimize(request_query.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * target.size()));
}

void BM_RequestTargetHandWritten(benchmark::State& state, std::string_view target) {
  RunParser(
      state,
      [](std::string_view text, std::string& path, QueryPairs& query) {
        return ParseRequestTarget(text, path, query);
      },
      target);
}
void BM_RequestTargetBoostUrl(benchmark::State& state, std::string_view target) {
  RunParser(state, &ParseWithBoostUrl, target);
}
void BM_RequestTargetBoostUrlDecoding(benchmark::State& state, std::string_view target) {
  RunParser(state, &ParseWithBoostUrlDecoding, target);
}

BENCHMARK_CAPTURE(BM_RequestTargetHandWritten, status_poll, kStatusPoll);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrl, status_poll, kStatusPoll);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrlDecoding, status_poll, kStatusPoll);
BENCHMARK_CAPTURE(BM_RequestTargetHandWritten, seats_query, kSeatsQuery);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrl, seats_query, kSeatsQuery);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrlDecoding, seats_query, kSeatsQuery);
BENCHMARK_CAPTURE(BM_RequestTargetHandWritten, percent_encoded, kPercentEncoded);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrl, percent_encoded, kPercentEncoded);
BENCHMARK_CAPTURE(BM_RequestTargetBoostUrlDecoding, percent_encoded, kPercentEncoded);

}  // namespace
}  // namespace boxoffice::http
