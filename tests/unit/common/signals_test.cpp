// Signal names both ways: what StopSignal and --stop-signal accept, what status prints.
#include "common/signals.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace ferry {
namespace {

TEST(Signals, NamesAndNumbersBothWays) {
  EXPECT_EQ(signalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(signalName(SIGQUIT), "SIGQUIT");
  for (const char* s : {"SIGQUIT", "QUIT", "3"}) EXPECT_EQ(parseSignal(s), SIGQUIT) << s;
  EXPECT_EQ(parseSignal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(parseSignal("64"), 64);
  for (int sig = 1; sig < 32; ++sig) EXPECT_EQ(parseSignal(signalName(sig)), sig) << sig;
}

TEST(Signals, RefusesWhatIsNoSignal) {
  for (const char* bad :
       {"", "SIG", "0", "65", "-9", "sigterm", "term", "SIGTERM ", "9x", "KILL9"}) {
    EXPECT_FALSE(parseSignal(bad)) << bad;
  }
}

}  // namespace
}  // namespace ferry
