// Every token and code a client hands back, given arbitrary bytes, checked by the function the
// server checks it with: the session token (Accounts::Authenticate), the queue ticket
// (WaitingRoom::Poll), the access token (WaitingRoom::VerifyAccess), the ticket code
// (VerifyTicketCode), the ALTCHA solution of X-Altcha (ProofOfWork::Verify), the scanner key
// (CheckInService::AuthenticateScanner) and a minted operator key (OperatorKeys::Verify), plus the
// signed-token and base64/hex layers under them. The world is made once, with a fixed secret and
// a clock that does not move, so that the genuine tokens in the corpus stay genuine
// (fuzz/README.md says how to write them again: BOXOFFICE_FUZZ_WRITE_SEEDS=DIR).
//
// Input: a selector byte, then the token; where a part takes more (the session or event a token
// is checked against), fields separated by 0x1f follow, and an absent one is the genuine value.
//   'a' session token        'b' queue ticket [session, event]   'c' access token [session, event]
//   'd' ticket code [event]  'e' X-Altcha as sent                'f' X-Altcha's JSON,
//   base64-encoded
//                                                                    here, so mutations stay JSON
//   'g' scanner key [event]  'h' operator key                    'i' a token of any kind: Verify
//   and
//                                                                    VerifyFields must agree
//   'j' ticket claims (event, ticket, seat, order): Sign then VerifyTicketCode gives them back
//   'k' base64url and hex: decoders agree with each other and with the encoders
#include <boost/json/parse.hpp>

#include <sodium.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/accounts.hpp"
#include "common/crypto.hpp"
#include "common/time.hpp"
#include "common/token.hpp"
#include "common/worker_pool.hpp"
#include "defense/challenge.hpp"
#include "fuzz_input.hpp"
#include "fuzz_logging.hpp"
#include "operators/operator_keys.hpp"
#include "store/memory/memory_ledger.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "tickets/check_in.hpp"
#include "tickets/ticket_code.hpp"
#include "waitingroom/waiting_room.hpp"

namespace {

using namespace boxoffice;

constexpr std::string_view kSecret = "fuzz secret, the same on every run";
constexpr std::string_view kEventId = "evt_fuzz";
constexpr std::string_view kFanSessionId = "ses_fuzz";  // the fan in the event's queue

template <typename T>
T Await(std::function<void(std::function<void(T)>)> call) {
  std::promise<T> promise;
  call([&promise](T value) { promise.set_value(std::move(value)); });
  return promise.get_future().get();
}

struct World {
  FakeClock clock;  // fixed: tokens issued at start stay valid
  MemoryLedger ledger;
  WorkerPool pool{1, 4};
  Accounts accounts{ledger, clock, kSecret, std::chrono::hours(24), pool};
  MemoryQueueStore queue_store;
  WaitingRoom room{queue_store, clock, kSecret};
  TicketSigner tickets{std::string(kSecret)};
  CheckInService check_in{ledger, tickets, clock};
  ProofOfWork proof_of_work{kSecret, clock};
  OperatorKeys operator_keys{ledger, clock, kSecret};
  TokenSigner signer{kSecret, "fuzz"};
  std::string public_key;

  // The genuine articles, for the seeds and for the fields an input leaves out.
  IssuedSession session;
  std::string queue_ticket;
  std::string access_token;
  std::string ticket_code;
  std::string altcha;
  std::string altcha_v2;
  std::string scanner_key;
  std::string operator_key;

  World() {
    session = accounts.CreateGuestSession();
    EventDefinition event;
    event.id = std::string(kEventId);
    event.queue.enabled = true;
    event.queue.admission_rate_per_s = 10;
    event.queue.max_active = 100;
    FUZZ_EXPECT(Await<Status>([&](auto done) {
                  room.Attach(
                      event,
                      [] {
                        return InventoryLevel{100, 0};
                      },
                      false, done);
                }).ok());
    queue_ticket =
        room.Join(kEventId, FanIdentity{std::string(kFanSessionId), "", ""})->queue_ticket;
    // Let the admission controller admit the fan (the clock then stays where it is).
    for (int tick = 0; tick < 30; ++tick) {
      clock.Advance(std::chrono::milliseconds(100));
      room.Tick();
    }
    access_token = room.Poll(kEventId, kFanSessionId, queue_ticket)->access_token;
    public_key = tickets.PublicKey(std::string(kEventId));
    ticket_code =
        *tickets.Sign(TicketClaims{std::string(kEventId), "tkt_fuzz", "S-A-1", "ord_fuzz"});
    altcha = *SolveChallenge(proof_of_work.IssueWithMaxnumber(1'000));
    altcha_v2 = *SolveChallengeV2(proof_of_work.IssueV2WithMaxnumber(1'000));
    // The keys the operator hands out carry random ids; these are made here with fixed ones, so
    // that the corpus's copies verify in the next process too.
    scanner_key = "sk_fuzz" + std::string(36, 'k');
    FUZZ_EXPECT(
        Await<Status>([&](auto done) {
          ledger.InsertScannerKey(
              ScannerKeyRecord{"scn_fuzz", std::string(kEventId), Sha256Hex(scanner_key), 0}, done);
        }).ok());
    FUZZ_EXPECT(check_in.AuthenticateScanner(scanner_key, std::string(kEventId)).ok());
    FUZZ_EXPECT(
        Await<Status>([&](auto done) {
          ledger.InsertOperatorKey(OperatorKeyRecord{"opk_fuzz", "viewer", "wall", 0}, done);
        }).ok());
    FUZZ_EXPECT(operator_keys.Load().ok());
    // Signed as OperatorKeys signs a key it mints (src/operators/operator_keys.cpp).
    operator_key = TokenSigner(kSecret, "operator_key").Sign({"opk_fuzz", "viewer"});
    FUZZ_EXPECT(operator_keys.Verify(operator_key).has_value());
  }

  void WriteSeeds(const std::string& dir) const {
    const std::pair<std::string, std::string> seeds[] = {
        {"session", "a" + session.token},
        {"queue-ticket", "b" + queue_ticket},
        {"access-token", "c" + access_token},
        {"ticket-code", "d" + ticket_code},
        {"altcha", "e" + altcha},
        {"altcha-json", "f" + *DecodedAltcha(altcha)},
        {"altcha-v2", "e" + altcha_v2},
        {"altcha-v2-json", "f" + *DecodedAltcha(altcha_v2)},
        {"scanner-key", "g" + scanner_key},
        {"operator-key", "h" + operator_key},
        {"token", "i" + signer.Sign({"evt_fuzz", "42", "ses_fuzz", "1800000000000"})},
        {"claims", "j" + std::string(kEventId) + "\x1ftkt_1\x1fS-A-1\x1ford_1"},
        {"base64", "k" + Base64UrlEncode("boxoffice")},
    };
    for (const auto& [name, bytes] : seeds) {
      std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
    }
  }

  static std::optional<std::string> DecodedAltcha(std::string_view header) {
    std::string out(header.size(), '\0');
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), header.data(),
                          header.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
      return std::nullopt;
    }
    out.resize(length);
    return out;
  }
};

World* the_world = nullptr;

std::string_view Or(std::string_view field, std::string_view genuine) {
  return field.empty() ? genuine : field;
}

// A TicketSigner keeps the key pair of every event it was asked about (the server's events are
// few); for the ids an input makes up, a signer of its own keeps the memory bounded.
std::string PublicKeyFor(const World& world, const std::string& event_id) {
  if (event_id == kEventId) return world.public_key;
  return TicketSigner(std::string(kSecret)).PublicKey(event_id);
}

// The salt's `expires` parameter, read as the server reads it.
std::optional<std::int64_t> SaltExpiry(std::string_view salt) {
  const std::size_t at = salt.find("?expires=");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = salt.substr(at + 9);
  digits = digits.substr(0, digits.find('&'));
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

void Altcha(World& world, std::string_view header) {
  // A fresh store of used solutions for each input, so that an input's verdict does not depend
  // on the inputs before it (the genuine solution in the corpus would be "replayed" otherwise).
  ChallengeOptions options;
  options.store_slots = 64;
  ProofOfWork proof_of_work(kSecret, world.clock, options);
  const Status verified = proof_of_work.Verify(header);
  if (!verified) {
    FUZZ_EXPECT(verified.error().details.contains("reason"));
    return;
  }
  // A solution the server accepts names a challenge it issued, so it expires within the
  // challenges' lifetime from now: no solution can be made to live longer than that.
  const std::optional<std::string> payload = World::DecodedAltcha(header);
  if (!payload) return;  // accepted in another base64 variant
  std::error_code error;
  const boost::json::value json = boost::json::parse(*payload, error);
  FUZZ_EXPECT(!error && json.is_object());
  std::optional<std::int64_t> expires;
  if (const boost::json::value* salt = json.as_object().if_contains("salt")) {
    expires = SaltExpiry(salt->as_string());
  } else {  // v2: the expiry is a signed parameter
    expires = json.at_pointer("/challenge/parameters/expiresAt").as_int64();
  }
  const std::int64_t now_s = ToUnixSeconds(world.clock.Now());
  FUZZ_EXPECT(expires && *expires <= now_s + options.ttl.count());
}

void AnyToken(World& world, std::string_view token) {
  const std::optional<std::vector<std::string>> fields = world.signer.Verify(token);
  const std::optional<TokenFields> views = world.signer.VerifyFields(token);
  FUZZ_EXPECT(fields.has_value() == views.has_value());
  if (!fields) return;
  FUZZ_EXPECT(fields->size() == views->size());
  for (std::size_t i = 0; i < fields->size(); ++i) {
    FUZZ_EXPECT((*fields)[i] == (*views)[i]);
    FUZZ_EXPECT((*fields)[i].find('\n') == std::string::npos);
  }
}

void Claims(World& world, fuzz::FuzzInput& input) {
  TicketClaims claims;
  claims.event_id = std::string(input.Field());
  claims.ticket_id = std::string(input.Field());
  claims.seat_id = std::string(input.Field());
  claims.order_id = std::string(input.Field());
  const TicketSigner signer{std::string(kSecret)};
  const Result<std::string> code = signer.Sign(claims);
  if (!code) return;  // a field longer than a length byte can say
  const Result<TicketClaims> verified =
      VerifyTicketCode(*code, PublicKeyFor(world, claims.event_id));
  FUZZ_EXPECT(verified.ok());
  FUZZ_EXPECT(*verified == claims);
  // Another event's key never verifies it.
  if (claims.event_id != kEventId) {
    FUZZ_EXPECT(!VerifyTicketCode(*code, world.public_key).ok());
  }
}

void Encodings(std::string_view text) {
  const std::optional<std::string> decoded = Base64UrlDecode(text);
  std::array<char, 64> small;
  const std::optional<std::size_t> into = Base64UrlDecodeTo(text, small);
  if (into) {
    FUZZ_EXPECT(decoded && std::string_view(small.data(), *into) == *decoded);
  } else if (decoded) {
    FUZZ_EXPECT(decoded->size() > small.size());  // it did not fit
  }
  if (decoded) FUZZ_EXPECT(Base64UrlDecode(Base64UrlEncode(*decoded)) == decoded);
  FUZZ_EXPECT(Base64UrlDecode(Base64UrlEncode(text)) == std::string(text));
  if (const std::optional<std::string> bytes = HexDecode(text)) {
    FUZZ_EXPECT(HexDecode(HexEncode(*bytes)) == bytes);
  }
  FUZZ_EXPECT(HexDecode(HexEncode(text)) == std::string(text));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  InitCrypto();
  boxoffice::fuzz::DropLogs();
  the_world = new World();  // never destroyed: the fuzzer exits anyhow
  if (const char* dir = std::getenv("BOXOFFICE_FUZZ_WRITE_SEEDS")) the_world->WriteSeeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& world = *the_world;
  fuzz::FuzzInput input(data, size);
  switch (input.Select(11)) {
    case 0: {
      const Result<Session> session = world.accounts.Authenticate(input.rest());
      if (session) FUZZ_EXPECT(session->session_id.starts_with("ses_"));
      break;
    }
    case 1: {
      const std::string ticket(input.Field());
      const std::string session(Or(input.Field(), kFanSessionId));
      const std::string event(Or(input.Field(), kEventId));
      const Result<FanView> view = world.room.Poll(event, session, ticket);
      if (view) FUZZ_EXPECT(event == kEventId);
      break;
    }
    case 2: {
      const std::string token(input.Field());
      const std::string session(Or(input.Field(), kFanSessionId));
      const std::string event(Or(input.Field(), kEventId));
      const Status admitted = world.room.VerifyAccess(event, session, token);
      if (admitted) {
        FUZZ_EXPECT(event == kEventId && session == kFanSessionId);
        // One token per admission in today's format; format 2 (before key ids) still verifies, so
        // the corpus' tokens of that format do too.
        FUZZ_EXPECT(token == world.access_token || token.starts_with("2."));
      }
      break;
    }
    case 3: {
      const std::string code(input.Field());
      const std::string event(Or(input.Field(), kEventId));
      const Result<TicketClaims> claims = VerifyTicketCode(code, PublicKeyFor(world, event));
      if (claims) FUZZ_EXPECT(claims->event_id.size() <= kTicketFieldMaxBytes);
      break;
    }
    case 4:
      Altcha(world, input.rest());
      break;
    case 5: {
      const std::string_view json = input.rest();
      std::string header(sodium_base64_encoded_len(json.size(), sodium_base64_VARIANT_ORIGINAL),
                         '\0');
      sodium_bin2base64(header.data(), header.size(),
                        reinterpret_cast<const unsigned char*>(json.data()), json.size(),
                        sodium_base64_VARIANT_ORIGINAL);
      header.resize(header.size() - 1);  // the terminating NUL
      Altcha(world, header);
      break;
    }
    case 6: {
      const std::string key(input.Field());
      const std::string event(Or(input.Field(), kEventId));
      const Result<std::string> scanner = world.check_in.AuthenticateScanner(key, event);
      if (scanner) FUZZ_EXPECT(key == world.scanner_key && event == kEventId);
      break;
    }
    case 7: {
      const std::optional<OperatorIdentity> identity = world.operator_keys.Verify(input.rest());
      if (identity) FUZZ_EXPECT(identity->scope == OperatorScope::kViewer);
      break;
    }
    case 8:
      AnyToken(world, input.rest());
      break;
    case 9:
      Claims(world, input);
      break;
    default:
      Encodings(input.rest());
      break;
  }
  return 0;
}
