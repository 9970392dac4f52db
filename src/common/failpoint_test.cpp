#include "common/failpoint.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace boxoffice::failpoint {
namespace {

// Sets BOXOFFICE_FAILPOINTS for one test and takes it away after.
class Armed {
 public:
  explicit Armed(const char* spec) { setenv("BOXOFFICE_FAILPOINTS", spec, 1); }
  ~Armed() { unsetenv("BOXOFFICE_FAILPOINTS"); }
};

// A spec that cannot be read, or names a point that does not exist, is refused whatever the
// build; without a spec there is nothing to check.
TEST(FailpointTest, ABadSpecIsRefusedSayingWhy) {
  EXPECT_TRUE(CheckEnvironment().ok());
  for (const char* spec : {"ledger.commit.before", "no.such.point:crash", "order.authorized:hang",
                           "order.authorized:crash@0", "order.authorized:crash@x",
                           "order.authorized:crash@2+5", "order.authorized:crash+70000ms"}) {
    Armed armed(spec);
    const Status checked = CheckEnvironment();
    ASSERT_FALSE(checked.ok()) << spec;
    EXPECT_EQ(checked.error().code, "invalid_failpoints") << spec;
    EXPECT_NE(checked.error().message.find("BOXOFFICE_FAILPOINTS"), std::string::npos);
  }
}

#ifdef BOXOFFICE_FAILPOINTS
TEST(FailpointTest, AGoodSpecIsAccepted) {
  Armed armed("ledger.commit.before:crash@3+100ms, order.authorized:crash");
  EXPECT_TRUE(CheckEnvironment().ok());
}

// The armed point kills the process at its Nth hit, saying so on stderr; other points, and the
// hits before the Nth, do nothing. A death test runs in a child process of its own, which reads
// the environment afresh ("threadsafe" re-executes the test binary for it).
TEST(FailpointDeathTest, TheArmedHitKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Armed armed("order.authorized:crash@2");
  EXPECT_EXIT(
      {
        BOXOFFICE_FAILPOINT("order.confirmed");
        BOXOFFICE_FAILPOINT("order.authorized");
        std::fputs("past the first hit\n", stderr);
        BOXOFFICE_FAILPOINT("order.authorized");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL),
      "past the first hit\nboxoffice: failpoint order.authorized: crashing at hit 2");
}
#else
TEST(FailpointTest, ABuildWithoutFailpointsRefusesAnyArmedOne) {
  Armed armed("order.authorized:crash");
  const Status checked = CheckEnvironment();
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("no failpoints"), std::string::npos);
}
#endif

}  // namespace
}  // namespace boxoffice::failpoint
