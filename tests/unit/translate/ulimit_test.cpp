// --ulimit's syntax (podman's) and its record as app annotations → config.json rlimits; the
// pids limit's annotation → linux.resources.pids; the stop signal's → config.json, normalized.
#include "formats/translate/ulimit.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "formats/translate/app_runtime.hpp"

namespace ferry::translate {
namespace {

// An app "a" running /bin/true as root.
appc::RuntimeApp runtimeApp() {
  appc::RuntimeApp ra{appc::AcName::parse("a"),
                      appc::RuntimeImage{appc::AcIdentifier::parse("example.com/a"),
                                         appc::ImageId::parse("sha512-" + std::string(128, 'a')),
                                         {}}};
  appc::App app;
  app.exec = {"/bin/true"};
  app.user = "0";
  app.group = "0";
  ra.app = app;
  return ra;
}

TEST(Ulimit, ParsesSoftAndHard) {
  Ulimit u = Ulimit::parse("nofile=1024:2048");
  EXPECT_EQ(u.type, "nofile");
  EXPECT_EQ(u.soft, 1024u);
  EXPECT_EQ(u.hard, 2048u);
  EXPECT_EQ(u.rlimitName(), "RLIMIT_NOFILE");
  EXPECT_EQ(u.annotationName(), "dev.ferry.ulimit.nofile");
  EXPECT_EQ(u.valueText(), "1024:2048");
}

TEST(Ulimit, HardDefaultsToSoftAndUnlimitedIsSpelledTwoWays) {
  Ulimit u = Ulimit::parse("core=0");
  EXPECT_EQ(u.soft, 0u);
  EXPECT_EQ(u.hard, 0u);
  u = Ulimit::parse("stack=8388608:-1");
  EXPECT_EQ(u.hard, kUnlimited);
  EXPECT_EQ(u.valueText(), "8388608:unlimited");
  u = Ulimit::parse("nproc=unlimited");
  EXPECT_EQ(u.soft, kUnlimited);
  EXPECT_EQ(u.hard, kUnlimited);
}

TEST(Ulimit, RefusesBadSyntax) {
  for (const char* bad :
       {"nofile", "nofile=", "=1", "NOFILE=1", "bogus=1", "nofile=x", "nofile=1:x", "nofile=2:1",
        "nofile=1:2:3", "nofile=-2", "nofile=+1", "nofile= 1", "nofile=99999999999999999999999"}) {
    EXPECT_THROW(Ulimit::parse(bad), Error) << bad;
  }
}

TEST(Ulimit, UnknownTypeNamesTheKnownOnes) {
  try {
    Ulimit::parse("files=1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nofile"), std::string::npos) << e.what();
  }
}

TEST(Ulimit, AnnotationsBecomeProcessRlimits) {
  appc::RuntimeApp ra = runtimeApp();
  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.ulimit.nofile"), "1024:2048");
  ra.annotations.set(appc::AcIdentifier::parse("example.com/other"), "x");
  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.ulimit.core"), "unlimited:unlimited");
  Report r;
  oci::RuntimeSpec spec = appToRuntime(AppRuntimeInput{.app = ra}, r);
  ASSERT_EQ(spec.process->rlimits.size(), 2u);
  EXPECT_EQ(spec.process->rlimits[0], (oci::Rlimit{"RLIMIT_NOFILE", 2048, 1024}));
  EXPECT_EQ(spec.process->rlimits[1], (oci::Rlimit{"RLIMIT_CORE", kUnlimited, kUnlimited}));

  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.ulimit.nofile"), "lots");
  try {
    appToRuntime(AppRuntimeInput{.app = ra}, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dev.ferry.ulimit.nofile"), std::string::npos) << e.what();
  }
}

TEST(PidsLimit, ParsesCountsAndMax) {
  EXPECT_EQ(parsePidsLimit("1"), 1);
  EXPECT_EQ(parsePidsLimit("4096"), 4096);
  for (const char* max : {"max", "unlimited", "-1"}) EXPECT_EQ(parsePidsLimit(max), kPidsMax);
  EXPECT_EQ(pidsLimitText(kPidsMax), "max");
  EXPECT_EQ(pidsLimitText(64), "64");
  for (const char* bad : {"", "0", "-2", "x", "10x", "+5", " 5", "99999999999999999999999"}) {
    EXPECT_THROW(parsePidsLimit(bad), Error) << bad;
  }
}

TEST(PidsLimit, AppAnnotationBecomesResourcesPids) {
  appc::RuntimeApp ra = runtimeApp();
  ra.app->isolators.push_back(appc::Isolator::fromJson(
      {{"name", "resource/memory"}, {"value", {{"limit", "64M"}}}}, "isolators[0]"));
  Report r;
  oci::RuntimeSpec spec = appToRuntime(AppRuntimeInput{.app = ra}, r);
  ASSERT_TRUE(spec.linuxConfig && spec.linuxConfig->resources);
  EXPECT_FALSE(spec.linuxConfig->resources->pids);

  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.pids-limit"), "12");
  spec = appToRuntime(AppRuntimeInput{.app = ra}, r);
  ASSERT_TRUE(spec.linuxConfig->resources->pids);
  EXPECT_EQ(spec.linuxConfig->resources->pids->limit, 12);
  ASSERT_TRUE(spec.linuxConfig->resources->memory);  // the isolators' limits stay
  EXPECT_EQ(spec.linuxConfig->resources->memory->limit, 64'000'000);

  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.pids-limit"), "0");
  try {
    appToRuntime(AppRuntimeInput{.app = ra}, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dev.ferry.pids-limit"), std::string::npos) << e.what();
  }
}

TEST(StopSignal, AnnotationIsNormalizedIntoConfig) {
  appc::RuntimeApp ra = runtimeApp();
  Report r;
  EXPECT_EQ(appToRuntime(AppRuntimeInput{.app = ra}, r).annotations.count("dev.ferry.stop-signal"),
            0u);
  for (const char* spelling : {"SIGQUIT", "QUIT", "3"}) {
    ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.stop-signal"), spelling);
    oci::RuntimeSpec spec = appToRuntime(AppRuntimeInput{.app = ra}, r);
    EXPECT_EQ(spec.annotations.at("dev.ferry.stop-signal"), "SIGQUIT") << spelling;
  }
  ra.annotations.set(appc::AcIdentifier::parse("dev.ferry.stop-signal"), "SIGNOPE");
  try {
    appToRuntime(AppRuntimeInput{.app = ra}, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dev.ferry.stop-signal"), std::string::npos) << e.what();
  }
}

TEST(UserAnnotations, BecomeConfigAnnotationsOutsideFerrysPrefix) {
  appc::RuntimeApp ra = runtimeApp();
  ra.app->userAnnotations = {{"team", "infra"}, {"example.com/owner", "ops"}};
  Report r;
  oci::RuntimeSpec spec = appToRuntime(AppRuntimeInput{.app = ra}, r);
  EXPECT_EQ(spec.annotations.at("team"), "infra");
  EXPECT_EQ(spec.annotations.at("example.com/owner"), "ops");
  EXPECT_EQ(spec.annotations.at("dev.ferry.app.name"), "a");
  // An image must not reach ferry's own annotations (a user, an event handler) this way.
  for (const char* reserved : {"dev.ferry.event.pre-start", "dev.ferry.user", "dev.ferry.x"}) {
    ra.app->userAnnotations = {{reserved, "[\"/bin/sh\"]"}};
    try {
      appToRuntime(AppRuntimeInput{.app = ra}, r);
      FAIL() << reserved;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(reserved), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ferry::translate
