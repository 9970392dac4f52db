#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace boxoffice::app
