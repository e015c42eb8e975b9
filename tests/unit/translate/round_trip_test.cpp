// Round-trip properties over every golden input: translating there and back gives the input
// again, except under the fields the first translation's report names as dropped or
// approximated. ("annotation" losses promise a restore, so they are not excused.)
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "formats/translate/aci_to_oci.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "test_util.hpp"

namespace ferry::translate {
namespace {

namespace fs = std::filesystem;
using json::Json;

// appc labels and annotations are sets keyed by name: compare them as objects.
Json nameValueObject(const Json& list) {
  Json out = Json::object();
  for (const auto& item : list) out[item.at("name").get<std::string>()] = item.at("value");
  return out;
}

Json normalizeManifest(Json j) {
  for (const char* key : {"labels", "annotations"}) {
    if (j.contains(key)) j[key] = nameValueObject(j[key]);
  }
  return j;
}

// "labels[2].value" in the source manifest → "labels.version.value" in the normalized form.
std::string normalizeManifestPath(const std::string& field, const Json& source) {
  static const std::regex kIndexed(R"(^(labels|annotations)\[(\d+)\](.*)$)");
  std::smatch mt;
  if (!std::regex_match(field, mt, kIndexed)) return field;
  const Json& item = source.at(mt[1].str()).at(std::stoul(mt[2].str()));
  return json::child(mt[1].str(), item.at("name").get<std::string>()) + mt[3].str();
}

std::vector<std::string> excused(const Report& report, const Json& source, bool manifest) {
  std::vector<std::string> out;
  for (const auto& l : report.items()) {
    if (l.kind == LossKind::kAnnotation) continue;
    out.push_back(manifest ? normalizeManifestPath(l.field, source) : l.field);
  }
  return out;
}

// The differences no excused field covers, one per line.
std::string unexplained(const Json& before, const Json& after,
                        const std::vector<std::string>& excusedFields) {
  std::string out;
  for (const auto& d : test::differences(before, after)) {
    bool ok = false;
    for (const auto& f : excusedFields) ok = ok || test::covers(f, d);
    if (!ok) out += "  " + (d.empty() ? std::string("(root)") : d) + "\n";
  }
  return out;
}

// The second leg must read back everything the first one stored.
void expectNoDamage(const Report& second) {
  for (const auto& l : second.items()) {
    EXPECT_EQ(l.detail.find("damaged"), std::string::npos) << l.field << ": " << l.detail;
    EXPECT_EQ(l.detail.find("unknown ferry label"), std::string::npos) << l.field;
  }
}

class AciRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(AciRoundTrip, RestoresAllButReportedFields) {
  fs::path dir = test::dataDir("aci-to-oci") / GetParam();
  if (fs::exists(dir / "error.txt")) GTEST_SKIP() << "the translation fails by design";
  appc::ImageManifest m = test::loadManifest(dir);
  Report there, back;
  oci::ImageConfig config = aciToOci(m, there);
  // The name and labels must come from the dev.ferry.appc.* labels, not from the identity.
  // The image's own /etc/passwd and /etc/group, as the rendered rootfs would hold them.
  UserDatabase users{test::readFile(dir / "passwd"), test::readFile(dir / "group")};
  appc::ImageManifest again =
      ociToAci(config, {.name = "example.com/not-this-name", .version = std::nullopt}, users, back);
  expectNoDamage(back);
  Json source = m.toJson();
  std::string diff = unexplained(normalizeManifest(source), normalizeManifest(again.toJson()),
                                 excused(there, source, true));
  EXPECT_TRUE(diff.empty()) << "ACI → OCI → ACI changed fields the report does not mention:\n"
                            << diff << "report:\n"
                            << there.toText() << "after the round trip:\n"
                            << again.str(true);
}

INSTANTIATE_TEST_SUITE_P(Cases, AciRoundTrip, ::testing::ValuesIn(test::listCases("aci-to-oci")),
                         [](const auto& info) { return test::testName(info.param); });

// The OCI side of a comparison: history and rootfs are the caller's (they describe layers, and
// the ACI has one rootfs), and the labels identifying the ACI are expected additions.
Json normalizeConfig(Json j, bool hadLabels) {
  j.erase("history");
  j.erase("rootfs");
  if (j.contains("config") && j["config"].contains("Labels")) {
    Json& labels = j["config"]["Labels"];
    labels.erase(std::string(keys::kAppcName));
    labels.erase(std::string(keys::kAppcLabels));
    if (labels.empty() && !hadLabels) j["config"].erase("Labels");
  }
  if (j.contains("config") && j["config"].empty()) j.erase("config");
  // config.md: a port without a protocol is tcp.
  if (j.contains("config") && j["config"].contains("ExposedPorts")) {
    Json ports = Json::object();
    for (auto it = j["config"]["ExposedPorts"].begin(); it != j["config"]["ExposedPorts"].end();
         ++it) {
      ports[it.key().find('/') == std::string::npos ? it.key() + "/tcp" : it.key()] = it.value();
    }
    j["config"]["ExposedPorts"] = ports;
  }
  // ociToAci keeps the Env entries appc cannot hold apart and aciToOci appends them: the order
  // of different names changes, which no runtime notices; the order within a name must not.
  if (j.contains("config") && j["config"].contains("Env")) {
    auto env = j["config"]["Env"].get<std::vector<std::string>>();
    std::stable_sort(env.begin(), env.end(), [](const std::string& a, const std::string& b) {
      return a.substr(0, a.find('=')) < b.substr(0, b.find('='));
    });
    j["config"]["Env"] = env;
  }
  return j;
}

class OciRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(OciRoundTrip, RestoresAllButReportedFields) {
  fs::path dir = test::dataDir("oci-to-aci") / GetParam();
  if (fs::exists(dir / "error.txt")) GTEST_SKIP() << "the translation fails by design";
  test::OciCase c = test::loadOciCase(dir);
  Report there, back;
  appc::ImageManifest m = ociToAci(c.config, c.identity, c.users, there);
  oci::ImageConfig again = aciToOci(m, back);
  expectNoDamage(back);
  bool hadLabels = c.config.config && c.config.config->labels;
  Json source = c.config.toJson();
  std::string diff =
      unexplained(normalizeConfig(source, hadLabels), normalizeConfig(again.toJson(), hadLabels),
                  excused(there, source, false));
  EXPECT_TRUE(diff.empty()) << "OCI → ACI → OCI changed fields the report does not mention:\n"
                            << diff << "report:\n"
                            << there.toText() << "ACI:\n"
                            << m.str(true) << "\nafter the round trip:\n"
                            << again.dump();
}

INSTANTIATE_TEST_SUITE_P(Cases, OciRoundTrip, ::testing::ValuesIn(test::listCases("oci-to-aci")),
                         [](const auto& info) { return test::testName(info.param); });

TEST(JsonDifferences, NamePathsAndCoverage) {
  Json a = json::parse(R"({"a":{"b":[1,2],"x.y":1},"c":1})", "a");
  Json b = json::parse(R"({"a":{"b":[1,3,4]},"d":1})", "b");
  EXPECT_EQ(test::differences(a, b),
            (std::vector<std::string>{"a.b[1]", "a.b[2]", "a[\"x.y\"]", "c", "d"}));
  EXPECT_TRUE(test::covers("a.b", "a.b[1]"));
  EXPECT_TRUE(test::covers("a[\"80\"]", "a.80"));
  EXPECT_TRUE(test::covers("a[\"x.y\"]", "a[\"x.y\"].z"));
  EXPECT_FALSE(test::covers("a[\"x.y\"]", "a.x.y"));
  EXPECT_TRUE(test::covers("a.b", "a.b"));
  EXPECT_FALSE(test::covers("a.b", "a.bc"));
}

}  // namespace
}  // namespace ferry::translate
