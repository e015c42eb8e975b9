// Golden files: each case directory holds a translator's input and its expected output and loss
// report as pretty JSON (or error.txt: the message of the error the translation must throw).
// FERRY_UPDATE_GOLDEN=1 rewrites the expected files from the current translators; review every
// rewritten golden against the appc spec and the OCI image-spec before committing it.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "formats/translate/aci_to_oci.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "test_util.hpp"

namespace ferry::translate {
namespace {

namespace fs = std::filesystem;
using test::pretty;

// Compares (or, when updating, writes) one expected file.
void checkGolden(const fs::path& dir, const std::string& file, const std::string& actual) {
  fs::path p = dir / file;
  if (test::updatingGoldens()) {
    test::writeFile(p, actual);
    return;
  }
  auto expected = test::readFile(p);
  if (!expected) {
    ADD_FAILURE() << "missing golden " << p.string() << " (FERRY_UPDATE_GOLDEN=1 writes it); "
                  << "actual:\n"
                  << actual;
    return;
  }
  std::string diff = test::unifiedDiff(*expected, actual, p.string(), "actual");
  EXPECT_TRUE(diff.empty()) << "case " << dir.filename().string() << ": " << file
                            << " differs from the golden:\n"
                            << diff;
}

// Runs `translate`; on success compares the result and report goldens, on failure error.txt.
template <typename Fn>
void runCase(const fs::path& dir, const std::string& resultFile, Fn translate) {
  Report report;
  json::Json result;
  std::optional<std::string> error;
  try {
    result = translate(report);
  } catch (const Error& e) {
    error = e.what();
  }
  bool expectError = fs::exists(dir / "error.txt");
  if (test::updatingGoldens()) expectError = error.has_value();
  if (expectError) {
    ASSERT_TRUE(error) << "case " << dir.filename().string()
                       << ": expected an error, got a translation:\n"
                       << pretty(result);
    checkGolden(dir, "error.txt", *error + "\n");
    return;
  }
  ASSERT_FALSE(error) << "case " << dir.filename().string() << ": " << *error;
  checkGolden(dir, resultFile, pretty(result));
  checkGolden(dir, "report.json", pretty(report.toJson()));
}

class AciToOciGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(AciToOciGolden, MatchesGolden) {
  fs::path dir = test::dataDir("aci-to-oci") / GetParam();
  appc::ImageManifest m = test::loadManifest(dir);
  runCase(dir, "config.json", [&](Report& r) { return aciToOci(m, r).toJson(); });
}

INSTANTIATE_TEST_SUITE_P(Cases, AciToOciGolden, ::testing::ValuesIn(test::listCases("aci-to-oci")),
                         [](const auto& info) { return test::testName(info.param); });

class OciToAciGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OciToAciGolden, MatchesGolden) {
  fs::path dir = test::dataDir("oci-to-aci") / GetParam();
  test::OciCase c = test::loadOciCase(dir);
  runCase(dir, "manifest.json",
          [&](Report& r) { return ociToAci(c.config, c.identity, c.users, r).toJson(); });
}

INSTANTIATE_TEST_SUITE_P(Cases, OciToAciGolden, ::testing::ValuesIn(test::listCases("oci-to-aci")),
                         [](const auto& info) { return test::testName(info.param); });

// The golden files must themselves be valid documents: an expected manifest that the appc
// parser rejects, or an expected config the OCI parser rejects, would encode a bug.
TEST(Goldens, ExpectedOutputsParse) {
  for (const auto& name : test::listCases("aci-to-oci")) {
    fs::path dir = test::dataDir("aci-to-oci") / name;
    if (auto text = test::readFile(dir / "config.json")) {
      EXPECT_NO_THROW(oci::ImageConfig::parse(*text, "config.json")) << name;
    }
  }
  for (const auto& name : test::listCases("oci-to-aci")) {
    fs::path dir = test::dataDir("oci-to-aci") / name;
    if (auto text = test::readFile(dir / "manifest.json")) {
      EXPECT_NO_THROW(appc::ImageManifest::parse(*text, "manifest.json")) << name;
    }
  }
}

TEST(UnifiedDiff, ShowsChangedLinesWithContext) {
  std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  std::string b = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n";
  EXPECT_EQ(test::unifiedDiff(a, b, "a", "b"),
            "--- a\n+++ b\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n");
  EXPECT_EQ(test::unifiedDiff(a, a, "a", "b"), "");
  EXPECT_EQ(test::unifiedDiff("", "x\n", "a", "b"), "--- a\n+++ b\n@@ -1,0 +1,1 @@\n+x\n");
}

}  // namespace
}  // namespace ferry::translate
