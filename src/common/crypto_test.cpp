#include "common/crypto.hpp"

#include <sodium.h>

#include <gtest/gtest.h>

#include "common/token.hpp"

namespace boxoffice {
namespace {

// libsodium must be initialised before any test uses it, as main() does for the server.
class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { InitCrypto(); }
};
const auto* const kCryptoEnvironment = ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

// Base64url and hex round-trip every byte value and reject malformed input.
TEST(CryptoTest, EncodingsRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
  EXPECT_EQ(HexDecode(HexEncode(bytes)), bytes);
  EXPECT_EQ(Base64UrlDecode("not base64!"), std::nullopt);
  EXPECT_EQ(HexDecode("abc"), std::nullopt);
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
}

// The table decoder keeps libsodium's strict rules: every length and byte value round-trips,
// and padding, stray characters, a 4n+1 length or non-zero spare bits are refused.
TEST(CryptoTest, Base64UrlDecodeIsStrict) {
  for (std::size_t length = 0; length < 70; ++length) {
    const std::string bytes = RandomBytes(length);
    const std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(Base64UrlDecode(text), bytes) << length;
  }
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64UrlDecode("QQ"), "A");
  EXPECT_EQ(Base64UrlDecode("QR"), std::nullopt);    // spare bits set: not the encoding of "A"
  EXPECT_EQ(Base64UrlDecode("QQ=="), std::nullopt);  // the unpadded variant
  EXPECT_EQ(Base64UrlDecode("QUJD+"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("QUJDR"), std::nullopt);  // 4n+1 characters
  EXPECT_EQ(Base64UrlDecode(std::string_view("QU\0D", 4)), std::nullopt);
  // A stray character anywhere, in the eight-character groups or the four-character ones.
  const std::string valid = Base64UrlEncode(RandomBytes(24));  // 32 characters
  for (std::size_t at = 0; at < valid.size(); ++at) {
    for (char stray : {'+', '/', '=', '.', ' ', '\x80'}) {
      std::string text = valid;
      text[at] = stray;
      EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << stray << " at " << at;
      EXPECT_EQ(Base64UrlDecode(std::string_view(text).substr(0, 28)),
                at < 28 ? std::nullopt : Base64UrlDecode(valid.substr(0, 28)));
    }
  }
}

// A MacKey computes keyed BLAKE2b-256 and verifies only the right MAC; it also verifies the
// HMAC-SHA-512-256 (Mac()) that tokens of older builds carry, and nothing else.
TEST(CryptoTest, MacKeyIsKeyedBlake2bAndAcceptsTheOlderHmac) {
  const SecretKey key = DeriveKey("secret", "context");
  const MacKey mac_key(key);
  for (const std::string& message :
       {std::string(), std::string("session\nses_1"), std::string(300, 'm')}) {
    unsigned char blake2b[crypto_generichash_BYTES];
    crypto_generichash(blake2b, sizeof blake2b,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       key.data(), key.size());
    const std::string mac = mac_key.Mac(message);
    EXPECT_EQ(mac, std::string(reinterpret_cast<const char*>(blake2b), sizeof blake2b));
    EXPECT_TRUE(mac_key.Verify(message, mac));
    EXPECT_TRUE(mac_key.Verify(message, Mac(key, message)));
    for (const std::string& right : {mac, Mac(key, message)}) {
      std::string wrong = right;
      wrong[5] = static_cast<char>(wrong[5] ^ 1);
      EXPECT_FALSE(mac_key.Verify(message, wrong));
      EXPECT_FALSE(mac_key.Verify(message, right.substr(1)));
      EXPECT_FALSE(mac_key.Verify(message + "x", right));
    }
    EXPECT_FALSE(MacKey(DeriveKey("secret", "other")).Verify(message, mac));
  }
}

// A 16-byte MacKey computes keyed BLAKE2b-128 (not BLAKE2b-256 cut short) and accepts nothing
// else: neither the 32-byte MACs nor the older HMAC.
TEST(CryptoTest, SixteenByteMacKeyIsKeyedBlake2b128) {
  const SecretKey key = DeriveKey("secret", "context");
  const MacKey mac_key(key, 16);
  const std::string message = "queue_ticket\nevt_1\n42";
  unsigned char blake2b[16];
  crypto_generichash(blake2b, sizeof blake2b,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                     key.data(), key.size());
  const std::string mac = mac_key.Mac(message);
  EXPECT_EQ(mac, std::string(reinterpret_cast<const char*>(blake2b), sizeof blake2b));
  EXPECT_NE(mac, MacKey(key).Mac(message).substr(0, 16));
  EXPECT_TRUE(mac_key.Verify(message, mac));
  std::string wrong = mac;
  wrong[15] = static_cast<char>(wrong[15] ^ 1);
  EXPECT_FALSE(mac_key.Verify(message, wrong));
  EXPECT_FALSE(mac_key.Verify(message, MacKey(key).Mac(message)));
  EXPECT_FALSE(mac_key.Verify(message, Mac(key, message)));
  EXPECT_FALSE(mac_key.Verify(message, mac.substr(0, 15)));
}

// Constant-time equality is still equality, lengths included.
TEST(CryptoTest, EqualConstantTime) {
  EXPECT_TRUE(EqualConstantTime("token", "token"));
  EXPECT_TRUE(EqualConstantTime("", ""));
  EXPECT_FALSE(EqualConstantTime("token", "tokeN"));
  EXPECT_FALSE(EqualConstantTime("token", "token2"));
}

// Random tokens use only the documented alphabet and do not repeat.
TEST(CryptoTest, RandomTokensAreLowercaseAlphanumeric) {
  const std::string a = RandomToken(32);
  const std::string b = RandomToken(32);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos);
}

// SecretsEqual is a plain equality on values of any length.
TEST(CryptoTest, SecretsEqual) {
  EXPECT_TRUE(SecretsEqual("admin-key", "admin-key"));
  EXPECT_FALSE(SecretsEqual("admin-key", "admin-kez"));
  EXPECT_FALSE(SecretsEqual("admin-key", "admin-key-longer"));
  EXPECT_FALSE(SecretsEqual("", "x"));
}

// Known-answer test for SHA-256 (the queue's seed commitment relies on it).
TEST(CryptoTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// A password verifies against its own hash only.
TEST(CryptoTest, PasswordHashVerifies) {
  const std::optional<std::string> hash = HashPassword("correct horse battery");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_TRUE(VerifyPassword("correct horse battery", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse batterz", *hash));
}

// A signed token verifies and yields its fields; any change to it fails verification.
TEST(TokenTest, SignedTokenRoundTripsAndResistsTampering) {
  const TokenSigner signer("server secret", "session");
  const std::string token = signer.Sign({"ses_1", "", "1800000000"});
  const auto fields = signer.Verify(token);
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields, (std::vector<std::string>{"ses_1", "", "1800000000"}));

  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(signer.Verify(tampered)) << "changed byte " << i;
  }
  EXPECT_FALSE(signer.Verify(""));
  EXPECT_FALSE(signer.Verify("."));
  EXPECT_FALSE(signer.Verify(std::string(5000, 'a')));
}

// Format 3 names the signing key and carries the fields as they are; empty fields and no fields
// round-trip.
TEST(TokenTest, FormatThreeNamesTheKeyAndCarriesTheFieldsInTheClear) {
  const TokenSigner signer("server secret", "session");
  const std::string token = signer.Sign({"ses_1", "", "1800000000"});
  const std::string id = KeyId("server secret");
  EXPECT_EQ(id.size(), 8u);
  const std::string head = "3." + id + ".ses_1..1800000000.";
  ASSERT_TRUE(token.starts_with(head)) << token;
  EXPECT_EQ(token.size(), head.size() + 22);  // 16-byte MAC
  EXPECT_EQ(signer.Verify(signer.Sign({})), std::vector<std::string>{});
  EXPECT_EQ(signer.Verify(signer.Sign({""})), std::vector<std::string>{""});
  EXPECT_EQ(signer.Verify(signer.Sign({"", ""})), (std::vector<std::string>{"", ""}));
  EXPECT_FALSE(signer.Verify("3."));
  EXPECT_FALSE(signer.Verify("3." + id));
  EXPECT_FALSE(signer.Verify("3." + id + "."));
  EXPECT_FALSE(signer.Verify("3." + id + ".ses_1."));
  // A field that would split differently is refused when signing, in every build.
  EXPECT_THROW(signer.Sign({"a.b"}), std::invalid_argument);
  EXPECT_THROW(signer.Sign({"ses_1", "a\nb"}), std::invalid_argument);
}

// Moving a field boundary keeps the signed payload's bytes but must not keep the MAC valid: a
// newline inside a field, or fields merged or split at a '.', never verify.
TEST(TokenTest, FieldBoundariesCannotBeMoved) {
  const TokenSigner signer("server secret", "session");
  const std::string token = signer.Sign({"a", "b"});  // "3.ID.a.b." + MAC, payload "session\na\nb"
  const std::string head = "3." + KeyId("server secret") + ".";
  const std::string mac = token.substr(token.rfind('.') + 1);
  EXPECT_TRUE(signer.Verify(head + "a.b." + mac));
  EXPECT_FALSE(signer.Verify(head + "a\nb." + mac));
  EXPECT_FALSE(signer.Verify(head + "ab." + mac));
  EXPECT_FALSE(signer.Verify(head + "a.b.." + mac));
}

// Format 2 (format 3 without the key id), which builds before key rotation signed, still
// verifies, under any of the signer's secrets.
TEST(TokenTest, FormatTwoTokensStillVerify) {
  const std::string payload = "session\nses_1\n\n1800000000";
  const MacKey key(DeriveKey("server secret", "boxoffice token-2 session"), 16);
  const std::string format2 = "2.ses_1..1800000000." + Base64UrlEncode(key.Mac(payload));
  const std::vector<std::string> fields{"ses_1", "", "1800000000"};
  EXPECT_EQ(TokenSigner("server secret", "session").Verify(format2), fields);
  const std::vector<std::string> rotated{"newer secret", "server secret"};
  EXPECT_EQ(TokenSigner(rotated, "session").Verify(format2), fields);
  EXPECT_FALSE(TokenSigner("newer secret", "session").Verify(format2));
  EXPECT_FALSE(TokenSigner("server secret", "session")
                   .Verify("2.ses_2..1800000000." + Base64UrlEncode(key.Mac(payload))));
}

// A rotation: the newest secret signs, every secret verifies, so no holder of a token is logged
// out; a token of a retired secret, or one naming a key it was not signed with, does not verify.
TEST(TokenTest, RotatedKeysVerifyUntilRetired) {
  const std::vector<std::string> before{"first secret"};
  const std::vector<std::string> rotated{"second secret", "first secret"};
  const std::vector<std::string> retired{"second secret"};
  const std::string old_token = TokenSigner(before, "session").Sign({"ses_1"});
  const TokenSigner signer(rotated, "session");
  const std::string new_token = signer.Sign({"ses_2"});
  EXPECT_TRUE(new_token.starts_with("3." + KeyId("second secret") + ".")) << new_token;
  EXPECT_EQ(signer.Verify(old_token), std::vector<std::string>{"ses_1"});
  EXPECT_EQ(signer.Verify(new_token), std::vector<std::string>{"ses_2"});
  EXPECT_FALSE(TokenSigner(retired, "session").Verify(old_token));
  EXPECT_TRUE(TokenSigner(retired, "session").Verify(new_token));
  // The old token relabelled with the new key's id: the id picks the key, the MAC fails under it.
  std::string relabelled = old_token;
  relabelled.replace(2, 8, KeyId("second secret"));
  EXPECT_FALSE(signer.Verify(relabelled));
  // A signer needs one secret at least, none empty, none twice.
  EXPECT_THROW(TokenSigner(std::vector<std::string>{}, "session"), std::invalid_argument);
  EXPECT_THROW(TokenSigner(std::vector<std::string>{"a", ""}, "session"), std::invalid_argument);
  EXPECT_THROW(TokenSigner(std::vector<std::string>{"a", "a"}, "session"), std::invalid_argument);
}

// Tokens that builds before format 2 signed (base64url(payload) "." base64url(MAC)) still verify,
// so an upgrade keeps sessions and places; tampered ones do not.
TEST(TokenTest, FormatOneTokensStillVerify) {
  const TokenSigner signer("server secret", "queue_ticket");
  const std::string payload = "queue_ticket\nevt_1\n42\nses_1\n1800000000000";
  const MacKey key(DeriveKey("server secret", "boxoffice token queue_ticket"));
  const std::string format1 = Base64UrlEncode(payload) + "." + Base64UrlEncode(key.Mac(payload));
  EXPECT_EQ(signer.Verify(format1),
            (std::vector<std::string>{"evt_1", "42", "ses_1", "1800000000000"}));
  const std::vector<std::string> rotated{"newer secret", "server secret"};
  EXPECT_EQ(TokenSigner(rotated, "queue_ticket").Verify(format1), signer.Verify(format1));
  EXPECT_EQ(signer.Verify(format1),
            signer.Verify(signer.Sign({"evt_1", "42", "ses_1", "1800000000000"})));
  std::string tampered = format1;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.Verify(tampered));
  const std::string other_kind = "session\nevt_1\n42\nses_1\n1800000000000";
  EXPECT_FALSE(
      signer.Verify(Base64UrlEncode(other_kind) + "." + Base64UrlEncode(key.Mac(other_kind))));
}

// A token of one kind, or under another secret, never verifies as another.
TEST(TokenTest, KindAndSecretSeparateTokens) {
  const TokenSigner sessions("secret", "session");
  const TokenSigner tickets("secret", "queue_ticket");
  const TokenSigner other_server("other secret", "session");
  const std::string token = sessions.Sign({"ses_1"});
  EXPECT_FALSE(tickets.Verify(token));
  EXPECT_FALSE(other_server.Verify(token));
}

// Standard base64 pads and uses '+' and '/', as basic authentication expects.
TEST(CryptoTest, StandardBase64PadsAndKeepsItsAlphabet) {
  EXPECT_EQ(Base64StandardEncode("public:private"), "cHVibGljOnByaXZhdGU=");
  EXPECT_EQ(Base64StandardEncode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64StandardEncode(""), "");
}

}  // namespace
}  // namespace boxoffice
