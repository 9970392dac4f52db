// gzip for answers worth it: an event's whole seat list is 2.8 MB of JSON and 123 KB gzipped.
// Applied to every answer the server writes (static files come precompressed and say so with
// their own Vary, so they are left alone), on the thread that answers: a handler's worker when
// it answers later, the I/O thread when it answers at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace boxoffice::http {

// Bodies smaller than this go as they are: the saving would not pay for gzip's 18 bytes of
// framing and a dictionary that has not warmed up.
inline constexpr std::size_t kCompressMinBytes = 1024;

// Whether an Accept-Encoding value accepts `coding` ("gzip", "br"), by RFC 9110 section 12.5.3:
// the coding named with a non-zero weight, or `*` when the coding is not named.
bool AcceptsEncoding(std::string_view accept_encoding, std::string_view coding);

// The gzip (RFC 1952) of `data` at zlib's fastest level, which on JSON gets most of the best
// level's saving for a fraction of its time; nullopt only when zlib fails (out of memory).
std::optional<std::string> Gzip(std::string_view data);

// Compresses `response`'s body with gzip when `request` accepts it, the body is at least
// kCompressMinBytes of a textual type, and nothing has encoded it yet. Every answer that could be
// compressed says `Vary: Accept-Encoding`, compressed or not, so a cache keeps the two apart; a
// compressed answer's ETag becomes weak (W/"..."), as it no longer names the identity bytes.
void MaybeCompress(const Request& request, Response& response);

}  // namespace boxoffice::http
