#include "common/check.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

int Checked(int value) {
  BOXOFFICE_CHECK(value > 0, "the value is positive");
  return value;
}

// A check that holds costs nothing visible; one that fails names itself and where, and aborts,
// in every build (NDEBUG or not).
TEST(CheckDeathTest, FailsLoudlyInEveryBuild) {
  EXPECT_EQ(Checked(3), 3);
  EXPECT_DEATH(Checked(0), "check failed: the value is positive \\(value > 0\\) at .*check_test");
}

}  // namespace
}  // namespace boxoffice
