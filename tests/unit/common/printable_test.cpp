// common/error.hpp printable() and quote(): what a pod wrote, shown without its control
// characters.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/printable.hpp"

namespace ferry {
namespace {

TEST(Printable, EscapesC0AndDel) {
  EXPECT_EQ(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(printable(std::string_view("\0\x07\x7f", 3)), "\\x00\\x07\\x7f");
  EXPECT_EQ(printable("a\rb"), "a\\x0db");
}

TEST(Printable, NewlineAndTabOnlyWhenKept) {
  EXPECT_EQ(printable("running\nexit=0\t"), "running\\x0aexit=0\\x09");
  EXPECT_EQ(printable("a\nb\tc", true, false), "a\nb\\x09c");
  EXPECT_EQ(printable("a\nb\tc", true, true), "a\nb\tc");
}

TEST(Printable, EscapesC1AndInvalidUtf8) {
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\u009b31m");  // U+009B, CSI
  EXPECT_EQ(printable("\x9b"
                      "31m"),
            "\\x9b31m");                                    // a lone 8-bit CSI
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");           // truncated
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(Printable, KeepsPrintableUtf8) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2 \xc2\xa0"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2 \xc2\xa0");
  EXPECT_EQ(printable("signal:SIGKILL"), "signal:SIGKILL");
}

TEST(Quote, EscapesQuotesAndControls) {
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote("x\x1b]0;t\x07\xc2\x9b"), "\"x\\x1b]0;t\\x07\\u009b\"");
  EXPECT_EQ(quote("/tmp/\xc3\xa9"), "\"/tmp/\xc3\xa9\"");
}

}  // namespace
}  // namespace ferry
