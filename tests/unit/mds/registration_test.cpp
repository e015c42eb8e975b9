#include <gtest/gtest.h>

#include "stage0/mds/pod_registry.hpp"
#include "tests/unit/mds/test_util.hpp"

namespace ferry::mds {
namespace {

using test::errorOf;
using test::registration;

TEST(Registration, ParsesAndMergesAppAnnotationsInSpecOrder) {
  Pod pod = parseRegistration(registration());
  EXPECT_EQ(pod.uuid.str(), test::kUuid);
  EXPECT_EQ(pod.token, test::kToken);
  ASSERT_EQ(pod.apps.size(), 2u);
  const PodApp* main = pod.findApp("main");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->imageId, test::kMainId);
  // Image annotations in order, the pod's "lorem" replacing in place, "extra" appended.
  AnnotationList want{{"authors", "Carly"}, {"lorem", "pod-wins"}, {"extra", "x"}};
  EXPECT_EQ(main->annotations, want);
  EXPECT_TRUE(pod.findApp("side")->annotations.empty());
  EXPECT_EQ(pod.annotations.size(), 2u);
}

TEST(Registration, ServesThePodManifestWithAnnotationsAlwaysPresent) {
  json::Json r = registration();
  r["podManifest"].erase("annotations");
  Pod pod = parseRegistration(r);
  json::Json served = json::parse(pod.podManifest, "served");
  ASSERT_TRUE(served.contains("annotations"));
  EXPECT_EQ(served["annotations"], json::Json::array());
  EXPECT_EQ(annotationsJson(pod.annotations), "[]");
}

TEST(Registration, ErrorsNameTheField) {
  auto with = [](auto change) {
    json::Json r = registration();
    change(r);
    return errorOf([&] { parseRegistration(r); });
  };
  EXPECT_NE(
      with([](json::Json& r) { r["mdsRegistrationVersion"] = 2; }).find("mdsRegistrationVersion"),
      std::string::npos);
  EXPECT_NE(with([](json::Json& r) { r["uuid"] = "nope"; }).find("uuid"), std::string::npos);
  EXPECT_NE(with([](json::Json& r) { r["token"] = "short"; }).find("token"), std::string::npos);
  EXPECT_NE(with([](json::Json& r) { r["token"] = std::string(40, 'a') + "/x"; }).find("token"),
            std::string::npos);
  EXPECT_NE(with([](json::Json& r) { r["apps"].erase("side"); }).find("apps.side: missing"),
            std::string::npos);
  EXPECT_NE(with([](json::Json& r) {
              r["apps"]["ghost"] = r["apps"]["side"];
            }).find("apps.ghost: not an app"),
            std::string::npos);
  EXPECT_NE(with([](json::Json& r) {
              r["apps"]["main"]["imageManifest"]["name"] = "Bad Name";
            }).find("apps.main.imageManifest"),
            std::string::npos);
  EXPECT_NE(
      with([](json::Json& r) { r["podManifest"]["acKind"] = "ImageManifest"; }).find("podManifest"),
      std::string::npos);
  EXPECT_NE(with([](json::Json& r) { r["surprise"] = 1; }).find("surprise"), std::string::npos);
}

TEST(Registry, UuidAndTokenAreUnique) {
  PodRegistry reg;
  auto a = reg.add(parseRegistration(registration()));
  EXPECT_EQ(reg.findByToken(test::kToken), a);
  EXPECT_EQ(reg.findByToken(std::string(64, 'f')), nullptr);
  std::string other(64, 'e');
  EXPECT_NE(
      errorOf([&] { reg.add(parseRegistration(registration(other))); }).find("registered already"),
      std::string::npos);
  EXPECT_NE(errorOf([&] {
              reg.add(parseRegistration(
                  registration(test::kToken, "00000000-0000-4000-8000-000000000001")));
            }).find("in use"),
            std::string::npos);
  reg.remove(a->uuid);
  EXPECT_EQ(reg.findByToken(test::kToken), nullptr);
  EXPECT_EQ(reg.size(), 0u);
  reg.add(parseRegistration(registration()));  // the same pod may register again
  EXPECT_EQ(reg.size(), 1u);
}

}  // namespace
}  // namespace ferry::mds
