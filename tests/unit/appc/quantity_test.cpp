#include "formats/appc/quantity.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace ferry::appc {
namespace {

TEST(Quantity, Suffixes) {
  struct Case {
    const char* text;
    int64_t value;
    std::optional<int64_t> milli;
  } cases[] = {
      {"0", 0, 0},
      {"1", 1, 1000},
      {"128974848", 128974848, 128974848000},
      {"125952Ki", 128974848, 128974848000},
      {"123Mi", 128974848, 128974848000},
      {"1Ki", 1024, 1024000},
      {"1Mi", 1 << 20, int64_t{1000} << 20},
      {"1Gi", int64_t{1} << 30, int64_t{1000} << 30},
      {"1Ti", int64_t{1} << 40, int64_t{1000} << 40},
      {"1Pi", int64_t{1} << 50, int64_t{1000} << 50},
      {"4Ei", int64_t{1} << 62, std::nullopt},
      {"1k", 1000, 1000000},
      {"1M", 1000000, 1000000000},
      {"2G", 2000000000, 2000000000000},
      {"1T", 1000000000000, 1000000000000000},
      {"1P", 1000000000000000, 1000000000000000000},
      {"1E", 1000000000000000000, std::nullopt},
      {"250m", 1, 250},
      {"500m", 1, 500},
      {"1500m", 2, 1500},
      {"0.3", 1, 300},
      {".5", 1, 500},
      {"2.", 2, 2000},
      {"1.5", 2, 1500},
      {"1.5Gi", int64_t{3} << 29, int64_t{1500} << 30},
      {"100u", 1, 1},
      {"5n", 1, 1},
      {"1e3", 1000, 1000000},
      {"1E3", 1000, 1000000},
      {"1e-3", 1, 1},
      {"15e+2", 1500, 1500000},
      {"+7", 7, 7000},
      {"-2", -2, -2000},
      {"007", 7, 7000},
  };
  for (const auto& c : cases) {
    Quantity q = Quantity::parse(c.text);
    EXPECT_EQ(q.str(), c.text);
    EXPECT_EQ(q.value(), c.value) << c.text;
    EXPECT_EQ(q.milliValue(), c.milli) << c.text;
  }
  EXPECT_TRUE(Quantity::parse("-1").negative());
  EXPECT_FALSE(Quantity::parse("0").negative());
  EXPECT_FALSE(Quantity::parse("1Ki") == Quantity::parse("1024"));  // textual
}

TEST(Quantity, Rejects) {
  for (const char* bad :
       {"",    "abc", "1X",   "1 Gi", " 1", "1Gi ", "1.2.3",  ".",   "-",   "1e",    "1e+",
        "1ki", "1KI", "1Ki1", "1mi",  "Gi", "1GiB", "1e1000", "8Ei", "10E", "1_000", "0x10"}) {
    EXPECT_THROW(Quantity::parse(bad), Error) << bad;
  }
  EXPECT_EQ(test::errorOf([] { Quantity::parse("12X"); }),
            "invalid quantity \"12X\": unknown suffix \"X\" (use n, u, m, k, M, G, T, P, E, Ki, "
            "Mi, Gi, Ti, Pi, Ei or an exponent)");
  EXPECT_EQ(test::errorOf([] { Quantity::parse("8Ei"); }), "invalid quantity \"8Ei\": too large");
}

}  // namespace
}  // namespace ferry::appc
