#include "tickets/ticket_code.hpp"

#include <gtest/gtest.h>

#include "common/crypto.hpp"

namespace boxoffice {
namespace {

class TicketCode : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
};

const TicketClaims kClaims{"evt_one", "tkt_abc0", "101-A-7", "ord_xyz"};

// A signed code verifies with the event's public key alone and gives back every field.
TEST_F(TicketCode, RoundTripsWithOnlyThePublicKey) {
  const TicketSigner signer("server secret");
  Result<std::string> code = signer.Sign(kClaims);
  ASSERT_TRUE(code.ok());
  Result<TicketClaims> claims = VerifyTicketCode(*code, signer.PublicKey("evt_one"));
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(*claims, kClaims);
  EXPECT_EQ(Base64UrlDecode(signer.PublicKeyBase64("evt_one")), signer.PublicKey("evt_one"));
}

// Keys come from the secret and the event id: the same after a "restart", different per event
// and per secret.
TEST_F(TicketCode, KeysAreDeterministicPerEventAndSecret) {
  const TicketSigner first("server secret");
  const TicketSigner again("server secret");
  const TicketSigner other_secret("another secret");
  EXPECT_EQ(first.PublicKey("evt_one"), again.PublicKey("evt_one"));
  EXPECT_NE(first.PublicKey("evt_one"), first.PublicKey("evt_two"));
  EXPECT_NE(first.PublicKey("evt_one"), other_secret.PublicKey("evt_one"));
  EXPECT_EQ(first.PublicKey("evt_one").size(), 32u);
}

// Changing any byte of the payload or the signature makes the code invalid.
TEST_F(TicketCode, TamperedCodeIsInvalid) {
  const TicketSigner signer("server secret");
  const std::string raw = *Base64UrlDecode(*signer.Sign(kClaims));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string tampered = raw;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    Result<TicketClaims> claims =
        VerifyTicketCode(Base64UrlEncode(tampered), signer.PublicKey("evt_one"));
    ASSERT_FALSE(claims.ok()) << "byte " << i;
    EXPECT_EQ(claims.error().code, "invalid_ticket");
  }
}

// Another event's key refuses the code; so do garbage and truncated codes.
TEST_F(TicketCode, OtherEventsKeyAndGarbageAreInvalid) {
  const TicketSigner signer("server secret");
  const std::string code = *signer.Sign(kClaims);
  EXPECT_FALSE(VerifyTicketCode(code, signer.PublicKey("evt_two")).ok());
  EXPECT_FALSE(VerifyTicketCode("", signer.PublicKey("evt_one")).ok());
  EXPECT_FALSE(VerifyTicketCode("not*base64", signer.PublicKey("evt_one")).ok());
  EXPECT_FALSE(VerifyTicketCode(code.substr(0, code.size() - 4), signer.PublicKey("evt_one")).ok());
  EXPECT_FALSE(VerifyTicketCode(code, "short key").ok());
}

// A field too long for its length byte is refused rather than signed wrongly.
TEST_F(TicketCode, OverlongFieldIsRefused) {
  const TicketSigner signer("server secret");
  TicketClaims claims = kClaims;
  claims.seat_id = std::string(kTicketFieldMaxBytes + 1, 'x');
  EXPECT_FALSE(signer.Sign(claims).ok());
}

}  // namespace
}  // namespace boxoffice
