#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/token.hpp"
#include "support/temp_dir.hpp"

namespace boxoffice::app {
namespace {

class DataDirTest : public ::testing::Test {
 protected:
  test_support::TempDir temp_{"boxoffice-datadir"};
  std::string root_ = temp_.path();
};

// The data dir is created with owner-only permissions.
TEST_F(DataDirTest, CreatesPrivateFolder) {
  const std::string dir = root_ + "/nested/data";
  ASSERT_TRUE(EnsureDataDir(dir).ok());
  struct stat info {};
  ASSERT_EQ(::stat(dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

// A generated secret is stored 0600 and returned unchanged, not regenerated, on later loads.
TEST_F(DataDirTest, GeneratesSecretOnceAndKeepsIt) {
  const std::string file = root_ + "/admin.key";
  Result<StoredSecrets> first = LoadOrCreateSecrets(file, nullptr, 24);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->generated);
  ASSERT_EQ(first->values.size(), 1u);
  EXPECT_EQ(first->values[0].size(), 48u);
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  Result<StoredSecrets> second = LoadOrCreateSecrets(file, "", 24);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->values, first->values);
}

// A rotated file: one secret per line, newest first; comments and blank lines skipped. A secret
// given twice, or more than kSecretsMax, is refused.
TEST_F(DataDirTest, ReadsRotatedSecretsNewestFirst) {
  const std::string file = root_ + "/secret.key";
  {
    std::ofstream out(file);
    out << "# newest first\nnewer\n\n  older  \n";
  }
  Result<StoredSecrets> secrets = LoadOrCreateSecrets(file, nullptr, 32);
  ASSERT_TRUE(secrets);
  EXPECT_EQ(secrets->values, (std::vector<std::string>{"newer", "older"}));
  {
    std::ofstream out(file);
    out << "one\none\n";
  }
  EXPECT_FALSE(LoadOrCreateSecrets(file, nullptr, 32));
  {
    std::ofstream out(file);
    for (std::size_t i = 0; i <= kSecretsMax; ++i) out << "secret" << i << "\n";
  }
  EXPECT_FALSE(LoadOrCreateSecrets(file, nullptr, 32));
  {
    std::ofstream out(file);
    out << "# nothing\n\n";
  }
  EXPECT_FALSE(LoadOrCreateSecrets(file, nullptr, 32));
}

// The environment's value wins and nothing is written.
TEST_F(DataDirTest, EnvironmentWins) {
  const std::string file = root_ + "/secret.key";
  Result<StoredSecrets> secret = LoadOrCreateSecrets(file, "from-env", 32);
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->values, std::vector<std::string>{"from-env"});
  EXPECT_FALSE(std::filesystem::exists(file));
  Result<StoredSecrets> rotated = LoadOrCreateSecrets(file, "newer, from-env", 32);
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->values, (std::vector<std::string>{"newer", "from-env"}));
}

std::string Slurp(const std::string& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A rotation puts a new random secret before the first one, keeps every other line (the heading
// comment too) and the file's owner-only mode; a retirement removes the one secret of that id.
TEST_F(DataDirTest, RotatesAndRetiresInPlace) {
  const std::string file = root_ + "/secret.key";
  {
    std::ofstream out(file);
    out << "# newest first\nolder\n";
  }
  ::chmod(file.c_str(), 0600);
  Result<std::string> rotated = RotateSecretFile(file, 32);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(rotated->size(), 64u);
  EXPECT_EQ(Slurp(file), "# newest first\n" + *rotated + "\nolder\n");
  Result<std::vector<std::string>> ring = ReadSecretFile(file);
  ASSERT_TRUE(ring);
  EXPECT_EQ(*ring, (std::vector<std::string>{*rotated, "older"}));
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(file + ".new"));

  ASSERT_TRUE(RetireSecretFromFile(file, KeyId("older")).ok());
  EXPECT_EQ(Slurp(file), "# newest first\n" + *rotated + "\n");
  // Unknown ids and the last secret are refused, and the file stays as it was.
  EXPECT_EQ(RetireSecretFromFile(file, KeyId("older")).error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(RetireSecretFromFile(file, KeyId(*rotated)));
  EXPECT_EQ(Slurp(file), "# newest first\n" + *rotated + "\n");
}

// Rotation refuses a missing file, a full ring, and a change already under way (the .new file of
// another run, or one cut off), and changes nothing then.
TEST_F(DataDirTest, RotationRefusesWhatItCannotDoSafely) {
  const std::string file = root_ + "/admin.key";
  EXPECT_EQ(RotateSecretFile(file, 24).error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(file));
  {
    std::ofstream out(file);
    for (std::size_t i = 0; i < kSecretsMax; ++i) out << "secret" << i << "\n";
  }
  const std::string full = Slurp(file);
  EXPECT_FALSE(RotateSecretFile(file, 24));
  EXPECT_EQ(Slurp(file), full);
  ASSERT_TRUE(RetireSecretFromFile(file, KeyId("secret3")).ok());
  { std::ofstream other(file + ".new"); }
  const std::string before = Slurp(file);
  Result<std::string> refused = RotateSecretFile(file, 24);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("under way"), std::string::npos);
  EXPECT_EQ(Slurp(file), before);
  EXPECT_TRUE(std::filesystem::exists(file + ".new"));  // someone else's: left alone
}

}  // namespace
}  // namespace boxoffice::app
