#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

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
  Result<StoredSecret> first = LoadOrCreateSecret(file, nullptr, 24);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->value.size(), 48u);
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  Result<StoredSecret> second = LoadOrCreateSecret(file, "", 24);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->value, first->value);
}

// The environment's value wins and nothing is written.
TEST_F(DataDirTest, EnvironmentWins) {
  const std::string file = root_ + "/secret.key";
  Result<StoredSecret> secret = LoadOrCreateSecret(file, "from-env", 32);
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->value, "from-env");
  EXPECT_FALSE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace boxoffice::app
