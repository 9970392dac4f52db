#include "tickets/check_in.hpp"

#include <utility>

#include "common/crypto.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

constexpr std::size_t kScannerKeyChars = 40;
constexpr std::size_t kScannerIdChars = 16;
constexpr std::size_t kScannerKeyMaxChars = 128;

}  // namespace

void CheckInService::CreateScannerKey(const std::string& event_id,
                                      std::function<void(Result<IssuedScannerKey>)> done) {
  IssuedScannerKey issued{"scn_" + RandomToken(kScannerIdChars),
                          "sk_" + RandomToken(kScannerKeyChars), event_id};
  ScannerKeyRecord record{issued.id, event_id, Sha256Hex(issued.key), ToUnixMillis(clock_.Now())};
  ledger_.InsertScannerKey(std::move(record), [issued = std::move(issued),
                                               done = std::move(done)](Status status) mutable {
    if (!status) return done(std::move(status).error());
    done(std::move(issued));
  });
}

Result<std::string> CheckInService::AuthenticateScanner(std::string_view key,
                                                        const std::string& event_id) {
  auto invalid = [] {
    return Error::Make(ErrorKind::kUnauthenticated, "invalid_scanner_key",
                       "This call needs the operator key or a scanner key of the event.");
  };
  if (!key.starts_with("sk_") || key.size() > kScannerKeyMaxChars) return invalid();
  // The hash is the lookup key: a timing difference can only tell hashes apart, not keys.
  Result<std::optional<ScannerKeyRecord>> found = ledger_.FindScannerKey(Sha256Hex(key));
  if (!found) return found.error();
  if (!found->has_value()) return invalid();
  if ((*found)->event_id != event_id) {
    return Error::Make(ErrorKind::kForbidden, "forbidden",
                       "This scanner key belongs to another event.");
  }
  return (*found)->id;
}

void CheckInService::CheckIn(const std::string& event_id, std::string_view code,
                             std::string scanner_key_id,
                             std::function<void(Result<CheckedIn>)> done) {
  Result<TicketClaims> claims = VerifyTicketCode(code, signer_.PublicKey(event_id));
  if (!claims) return done(claims.error());
  if (claims->event_id != event_id) {
    return done(Error::Make(ErrorKind::kUnprocessable, "invalid_ticket",
                            "The ticket is for another event."));
  }
  const TimePoint now = clock_.Now();
  CheckInRecord record{claims->ticket_id, event_id, ToUnixMillis(now), std::move(scanner_key_id)};
  ledger_.CheckIn(std::move(record), [claims = std::move(claims).value(), now,
                                      done = std::move(done)](Status status) mutable {
    if (!status) {
      Error error = std::move(status).error();
      if (error.code == "already_checked_in" && error.details.contains("first_checked_in_at_ms")) {
        const boost::json::value& first = error.details.at("first_checked_in_at_ms");
        if (first.is_int64()) {
          error.details["first_checked_in_at"] =
              FormatRfc3339Millis(FromUnixMillis(first.get_int64()));
        }
        error.details.erase("first_checked_in_at_ms");
      }
      return done(std::move(error));
    }
    done(CheckedIn{std::move(claims), now});
  });
}

}  // namespace boxoffice
