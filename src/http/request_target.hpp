// Request targets and form bodies, parsed and percent-decoded in one place. The server splits
// every request's target into its decoded path and query here, and any other component that
// reads URL-encoded text (the gateway simulator's application/x-www-form-urlencoded bodies, say)
// calls the same functions, so that what counts as malformed is decided once.
//
// What is accepted is deliberately lenient about characters and strict about escapes: any byte the
// HTTP parser let through may appear raw, but a truncated or non-hex escape, and an escaped NUL
// (%00), make the whole target malformed. No path or parameter of this API can hold a NUL, and the
// C APIs further down would cut the text short at one.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boxoffice::http {

// Decoded name/value pairs in the order they were sent; names may repeat.
using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// How '+' reads: a space in a query and in a form body (the HTML form encoding), a plus sign
// everywhere else (a path).
enum class PlusSign { kLiteral, kSpace };

// Percent-decodes `in` into `out` (replacing its contents). False on a truncated or non-hex escape
// and on %00; `out` is unspecified then.
bool PercentDecode(std::string_view in, PlusSign plus, std::string& out);

// Splits "a=1&b=x+y" into decoded pairs and appends them to `pairs`: '&' separates pairs, empty
// ones ("a=1&&b=2") are skipped, the first '=' separates name from value, a pair without one has
// an empty value, and '+' is a space. False when a name or value is malformed (see PercentDecode)
// or when more than `pairs_max` pairs would be appended; `pairs` may then hold some of them.
bool ParseFormUrlEncoded(std::string_view text, QueryPairs& pairs,
                         std::size_t pairs_max = std::numeric_limits<std::size_t>::max());

// Splits a request target into its percent-decoded path ('+' kept) and query pairs (see
// ParseFormUrlEncoded), replacing `path` and appending to `query`. Accepts the origin-form
// ("/path?query") and the absolute-form ("http://host/path?query", RFC 9112 section 3.2.2, whose
// scheme and authority are ignored); a fragment ("#...") is dropped. False when the target is
// neither, its path does not start with '/', or a part is malformed. `encoded_path`, when given,
// is set to the path as sent (a view into `target`): the router splits that one into segments, so
// that an escaped slash ("%2F") is data inside a segment, never a separator.
bool ParseRequestTarget(std::string_view target, std::string& path, QueryPairs& query,
                        std::string_view* encoded_path = nullptr);

}  // namespace boxoffice::http
