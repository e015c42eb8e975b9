#include <gtest/gtest.h>

#include "formats/translate/naming.hpp"
#include "formats/translate/report.hpp"

namespace ferry::translate {
namespace {

TEST(Report, JsonAndTextForms) {
  Report r;
  r.dropped("a", "gone");
  r.approximated("b[0]", "close");
  r.annotated("c", "kept");
  EXPECT_EQ(json::dump(r.toJson()), R"([{"field":"a","kind":"dropped","detail":"gone"},)"
                                    R"({"field":"b[0]","kind":"approximated","detail":"close"},)"
                                    R"({"field":"c","kind":"annotation","detail":"kept"}])");
  EXPECT_EQ(r.toText(),
            "warning: a: dropped: gone\nwarning: b[0]: approximated: close\n"
            "warning: c: annotation: kept\n");
  EXPECT_TRUE(r.mentions("b[0]"));
  EXPECT_FALSE(r.mentions("b"));
  Report other;
  other.append(r);
  EXPECT_EQ(other.items(), r.items());
  EXPECT_TRUE(Report().empty());
  EXPECT_EQ(json::dump(Report().toJson()), "[]");
}

TEST(Naming, VolumeNames) {
  EXPECT_EQ(volumeName("/var/lib/data"), "volume-var-lib-data");
  EXPECT_EQ(volumeName("/Data_Dir/x"), "volume-data-dir-x");
  EXPECT_EQ(volumeName("/"), "volume");
  EXPECT_EQ(volumeName("/a", {"volume-a"}), "volume-a-2");
  EXPECT_EQ(volumeName("/a", {"volume-a", "volume-a-2"}), "volume-a-3");
}

TEST(Naming, PortNames) { EXPECT_EQ(portName("tcp", 8080), "tcp-8080"); }

}  // namespace
}  // namespace ferry::translate
