#include <gtest/gtest.h>

#include "formats/appc/image_manifest.hpp"
#include "formats/appc/pod_manifest.hpp"
#include "test_util.hpp"

namespace ferry::appc {
namespace {

using json::Json;
using test::errorOf;
using test::readData;

// Order-insensitive comparison: the spec's examples do not all list fields in one order.
bool sameDocument(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

TEST(ImageManifest, SpecExampleParsesAndRoundTrips) {
  std::string text = readData("spec_image_manifest.json");
  ImageManifest m = ImageManifest::parse(text, "spec example");
  EXPECT_EQ(m.acVersion.str(), "0.5.2");
  EXPECT_EQ(m.name.str(), "example.com/reduce-worker");
  EXPECT_EQ(m.labels.get("arch"), "amd64");
  ASSERT_TRUE(m.app);
  EXPECT_EQ(m.app->exec, (std::vector<std::string>{"/usr/bin/reduce-worker", "--quiet"}));
  EXPECT_EQ(m.app->user, "100");
  EXPECT_EQ(m.app->eventHandlers.at(1).name, "post-stop");
  EXPECT_EQ(m.app->workingDirectory, "/opt/work");
  EXPECT_EQ(m.app->environment.get("REDUCE_WORKER_DEBUG"), "true");
  ASSERT_EQ(m.app->isolators.size(), 3u);
  EXPECT_EQ(std::get<ResourceMemory>(m.app->isolators[1].value).limit->value(), 2000000000);
  EXPECT_EQ(m.app->mountPoints.at(0).readOnly, false);
  EXPECT_EQ(m.app->ports.at(1).count, 1000u);
  EXPECT_EQ(m.app->ports.at(0).socketActivated, true);
  ASSERT_EQ(m.dependencies.size(), 1u);
  EXPECT_EQ(m.dependencies[0].size, 22017258u);
  EXPECT_EQ(m.dependencies[0].labels.get("env"), "canary");
  EXPECT_EQ(m.pathWhitelist.size(), 5u);
  EXPECT_EQ(m.annotations.get("homepage"), "https://example.com");

  Json original = json::parse(text, "spec example");
  EXPECT_TRUE(sameDocument(m.toJson(), original)) << m.str(true);
  EXPECT_EQ(ImageManifest::fromJson(m.toJson()), m);
}

TEST(PodManifest, SpecExampleParsesAndRoundTrips) {
  std::string text = readData("spec_pod_manifest.json");
  PodManifest p = PodManifest::parse(text, "spec example");
  ASSERT_EQ(p.apps.size(), 3u);
  EXPECT_EQ(p.apps[0].name.str(), "reduce-worker");
  EXPECT_EQ(p.apps[1].image.name->str(), "example.com/worker-backup");
  EXPECT_EQ(p.apps[1].annotations.get("foo"), "baz");
  EXPECT_FALSE(p.apps[2].app);
  EXPECT_EQ(p.apps[0].mounts.at(0).path, "/mnt/foo");
  ASSERT_EQ(p.volumes.size(), 1u);
  EXPECT_EQ(std::get<HostVolume>(p.volumes[0].kind).source, "/opt/tenant1/work");
  EXPECT_EQ(p.volumes[0].readOnly, true);
  EXPECT_EQ(p.ports.at(0).hostPort, 2121);
  EXPECT_EQ(p.findApp("backup"), &p.apps[1]);
  EXPECT_EQ(p.findApp("nope"), nullptr);
  EXPECT_EQ(p.findVolume("work"), &p.volumes[0]);

  EXPECT_TRUE(sameDocument(p.toJson(), json::parse(text, "spec example"))) << p.str(true);
  EXPECT_EQ(PodManifest::fromJson(p.toJson()), p);
}

// Golden files are in canonical form: they come back byte for byte.
TEST(ImageManifest, GoldenRoundTripsExactly) {
  std::string text = readData("image_manifest_full.json");
  Json j = json::parse(text, "golden");
  ImageManifest m = ImageManifest::fromJson(j);
  EXPECT_EQ(m.toJson(), j);
  EXPECT_EQ(m.str(true) + "\n", text);
  EXPECT_EQ(json::dump(m.toJson()), json::dump(j));
  // A few typed checks on what the golden file holds.
  EXPECT_EQ(m.app->supplementaryGIDs, (std::vector<uint32_t>{10, 20}));
  EXPECT_EQ(m.app->userAnnotations.at(0), (std::pair<std::string, std::string>{"team", "storage"}));
  EXPECT_FALSE(m.dependencies.at(1).imageID);
  EXPECT_EQ(m.app->isolators.size(), 11u);
  for (const auto& iso : m.app->isolators) EXPECT_TRUE(iso.known()) << iso.name().str();
}

TEST(PodManifest, GoldenRoundTripsExactly) {
  std::string text = readData("pod_manifest_full.json");
  Json j = json::parse(text, "golden");
  PodManifest p = PodManifest::fromJson(j);
  EXPECT_EQ(p.toJson(), j);
  EXPECT_EQ(p.str(true) + "\n", text);
  const auto& scratch = p.apps[0].mounts.at(1).appVolume;
  ASSERT_TRUE(scratch);
  EXPECT_EQ(std::get<EmptyVolume>(scratch->kind).modeBits(), 01777u);
  const auto& cache = std::get<EmptyVolume>(p.volumes.at(1).kind);
  EXPECT_EQ(cache.modeBits(), 0750u);
  EXPECT_EQ(cache.uid, 1000u);
  EXPECT_EQ(p.volumes.at(0).recursive, true);
  EXPECT_EQ(p.ports.at(1).hostIP, "127.0.0.1");
  EXPECT_EQ(p.ports.at(1).podPort->port, 443);
  EXPECT_EQ(p.apps.at(1).readOnlyRootFS, false);
  EXPECT_FALSE(p.apps.at(1).image.name);
}

TEST(ImageManifest, MinimalAndBuiltInCode) {
  ImageManifest m = ImageManifest::parse(
      R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x"})", "x");
  EXPECT_FALSE(m.app);
  EXPECT_EQ(m.str(), R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x"})");

  ImageManifest built{.name = AcIdentifier::parse("example.com/built"),
                      .labels = Labels{{"os", "linux"}, {"arch", "amd64"}},
                      .app = App{.exec = {"/bin/sh"}, .user = "0", .group = "0"}};
  built.app->isolators.push_back(Isolator{ResourceMemory{{.limit = Quantity::parse("1Gi")}}});
  EXPECT_EQ(built.str(),
            R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/built",)"
            R"("labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],)"
            R"("app":{"exec":["/bin/sh"],"user":"0","group":"0",)"
            R"("isolators":[{"name":"resource/memory","value":{"limit":"1Gi"}}]}})");
  EXPECT_EQ(ImageManifest::fromJson(built.toJson()), built);
}

TEST(ImageManifest, UnknownIsolatorIsKept) {
  Json j = json::parse(R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x",
      "app":{"user":"0","group":"0","isolators":[{"name":"vendor.com/gpu","value":{"count":1}}]}})",
                       "t");
  ImageManifest m = ImageManifest::fromJson(j);
  ASSERT_EQ(m.app->isolators.size(), 1u);
  EXPECT_FALSE(m.app->isolators[0].known());
  EXPECT_EQ(m.app->isolators[0].name().str(), "vendor.com/gpu");
  EXPECT_EQ(m.toJson(), j);
}

TEST(PodManifest, ToleratesGoEncoderNulls) {
  // What Go's encoder writes for a pod without volumes etc., and an app without exec.
  PodManifest p = PodManifest::parse(
      R"({"acVersion":"0.8.11","acKind":"PodManifest","apps":[{"name":"a","image":{"id":"sha512-)" +
          std::string(128, '0') +
          R"("},"app":{"exec":null,"user":"0","group":"0"}}],
          "volumes":null,"isolators":null,"annotations":null,"ports":null})",
      "pod");
  EXPECT_TRUE(p.volumes.empty());
  EXPECT_TRUE(p.apps[0].app->exec.empty());
  EXPECT_EQ(p.str(), R"({"acVersion":"0.8.11","acKind":"PodManifest","apps":[{"name":"a",)"
                     R"("image":{"id":"sha512-)" +
                         std::string(128, '0') + R"("},"app":{"user":"0","group":"0"}}]})");
  // Go also writes uid/gid -1 for host volumes.
  Volume v = Volume::fromJson(
      json::parse(R"({"name":"v","kind":"host","source":"/x","uid":-1,"gid":-1})", "v"), "v");
  EXPECT_EQ(json::dump(v.toJson()), R"({"name":"v","kind":"host","source":"/x"})");
}

// Each malformed field gives an error naming its JSON path.
TEST(ImageManifest, ErrorsNameThePath) {
  const std::string id = "sha512-" + std::string(128, 'a');
  struct Case {
    std::string json;
    std::string error;
  } cases[] = {
      {R"({"acKind":"PodManifest","acVersion":"0.8.11","name":"x"})",
       R"(acKind: must be "ImageManifest", not "PodManifest")"},
      {R"({"acVersion":"0.8.11","name":"x"})", "acKind: required field is missing"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8","name":"x"})",
       R"(acVersion: invalid version "0.8": must be MAJOR.MINOR.PATCH)"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"X"})",
       R"(name: invalid AC Identifier "X": must be lowercase letters, digits and '-', '.', '_', '~', '/', beginning and ending with a letter or digit)"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","extra":1})",
       "extra: unknown field"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"sparc"}]})",
       R"(labels: bad arch "sparc" for os "linux" (must be one of: amd64, i386, aarch64, aarch64_be, armv6l, armv7l, armv7b, ppc64, ppc64le, s390x))"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0"}})",
       "app.group: required field is missing"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"","group":"0"}})",
       "app.user: must not be empty"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","exec":"/bin/sh"}})",
       "app.exec: must be an array, not a string"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","exec":["/bin/sh",1]}})",
       "app.exec[1]: must be a string, not an integer"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","workingDirectory":"opt"}})",
       R"(app.workingDirectory: must be an absolute path, not "opt")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","supplementaryGIDs":[1,-2]}})",
       "app.supplementaryGIDs[1]: must not be negative"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","eventHandlers":[{"name":"pre-start","exec":["/a"]},{"name":"pre-start","exec":["/b"]}]}})",
       R"(app.eventHandlers[1].name: duplicate event handler "pre-start")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","eventHandlers":[{"name":"on-crash","exec":["/a"]}]}})",
       R"(app.eventHandlers[0].name: must be "pre-start" or "post-stop", not "on-crash")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","mountPoints":[{"name":"Work","path":"/w"}]}})",
       R"(app.mountPoints[0].name: invalid AC Name "Work": must be lowercase letters, digits and '-', beginning and ending with a letter or digit)"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","mountPoints":[{"name":"w","path":"/w","readOnly":"yes"}]}})",
       "app.mountPoints[0].readOnly: must be a boolean, not a string"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","ports":[{"name":"http","protocol":"tcp","port":0}]}})",
       "app.ports[0].port: must be between 1 and 65535"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","ports":[{"name":"http","protocol":"tcp","port":80,"count":0}]}})",
       "app.ports[0].count: must be between 1 and 65535"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","ports":[{"name":"r","protocol":"tcp","port":65000,"count":1000}]}})",
       "app.ports[0].count: the range 65000+1000 goes past port 65535"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","ports":[{"name":"a","protocol":"tcp","port":1},{"name":"a","protocol":"udp","port":2}]}})",
       R"(app.ports[1].name: duplicate port "a")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","isolators":[{"name":"resource/cpu","value":{"limit":"1"}},{"name":"resource/memory","value":{"limit":"1.5.0"}}]}})",
       R"(app.isolators[1].value.limit: must be a quantity, not "1.5.0")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","environment":[{"name":"A-B","value":"1"}]}})",
       R"(app.environment[0].name: invalid environment variable name "A-B": must be letters, digits and '_', not beginning with a digit)"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","userLabels":{"a":1}}})",
       "app.userLabels.a: must be a string, not an integer"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","app":{"user":"0","group":"0","criLabels":{}}})",
       "app.criLabels: unknown field"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","dependencies":[{"imageName":"y","imageID":"sha512-abc"}]})",
       R"(dependencies[0].imageID: invalid image ID "sha512-abc": the digest must be 128 lowercase hex digits)"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","dependencies":[{"imageName":"y","size":-1}]})",
       "dependencies[0].size: must not be negative"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","dependencies":[{"imageName":"y","app":"z"}]})",
       "dependencies[0].app: unknown field"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","pathWhitelist":["/a","b"]})",
       R"(pathWhitelist[1]: must be an absolute path, not "b")"},
      {R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x","annotations":[{"name":"a","value":"1"},{"name":"a","value":"2"}]})",
       R"(annotations[1].name: duplicate annotation "a")"},
      {R"([])", "document: must be an object, not an array"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errorOf([&] { ImageManifest::fromJson(json::parse(c.json, "t")); }), c.error)
        << c.json;
  }
  EXPECT_EQ(errorOf([] {
              ImageManifest::parse(R"({"acKind":"ImageManifest"})", "manifest of \"a.aci\"");
            }),
            "cannot parse manifest of \"a.aci\": acVersion: required field is missing");
  EXPECT_EQ(errorOf([] { ImageManifest::parse("{", "m"); }).substr(0, 16), "cannot parse m: ");
}

TEST(PodManifest, ErrorsNameThePath) {
  const std::string id = "sha512-" + std::string(128, 'a');
  auto pod = [&](const std::string& apps, const std::string& rest = "") {
    return R"({"acVersion":"0.8.11","acKind":"PodManifest","apps":)" + apps + rest + "}";
  };
  const std::string app = R"([{"name":"a","image":{"id":")" + id + R"("}}])";
  struct Case {
    std::string json;
    std::string error;
  } cases[] = {
      {R"({"acVersion":"0.8.11","acKind":"ImageManifest","apps":[]})",
       R"(acKind: must be "PodManifest", not "ImageManifest")"},
      {R"({"acVersion":"0.8.11","acKind":"PodManifest"})", "apps: required field is missing"},
      {pod("null"), "apps: must be an array, not null"},
      {pod(R"([{"name":"a","image":{"id":"sha512-x"}}])"),
       R"(apps[0].image.id: invalid image ID "sha512-x": the digest must be 128 lowercase hex digits)"},
      {pod(R"([{"name":"a","image":{}}])"), "apps[0].image.id: required field is missing"},
      {pod(R"([{"name":"a","image":{"id":")" + id +
           R"(","labels":[{"name":"os","value":"beos"}]}}])"),
       R"(apps[0].image.labels: bad os "beos" (must be one of: linux, freebsd, darwin))"},
      {pod(R"([{"name":"a","image":{"id":")" + id + R"("}},{"name":"a","image":{"id":")" + id +
           R"("}}])"),
       R"(apps[1].name: duplicate app "a")"},
      {pod(R"([{"name":"a","image":{"id":")" + id + R"("},"app":{"user":"0"}}])"),
       "apps[0].app.group: required field is missing"},
      {pod(R"([{"name":"a","image":{"id":")" + id + R"("},"readOnlyRootFS":1}])"),
       "apps[0].readOnlyRootFS: must be a boolean, not an integer"},
      {pod(R"([{"name":"a","image":{"id":")" + id + R"("},"mounts":[{"volume":"v"}]}])"),
       "apps[0].mounts[0].path: required field is missing"},
      {pod(R"([{"name":"a","image":{"id":")" + id +
           R"("},"mounts":[{"volume":"v","path":"/v","appVolume":{"name":"v","kind":"host"}}]}])"),
       "apps[0].mounts[0].appVolume.source: required field is missing for a host volume"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"tmpfs"}])"),
       R"(volumes[0].kind: must be "host" or "empty", not "tmpfs")"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"host","source":"rel"}])"),
       R"(volumes[0].source: must be an absolute path, not "rel")"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"host","source":"/x","mode":"0755"}])"),
       "volumes[0].mode: is only allowed for empty volumes"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"empty","mode":"rwx"}])"),
       R"(volumes[0].mode: must be an octal mode like "0755", not "rwx")"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"empty","source":"/x"}])"),
       "volumes[0].source: is not allowed for an empty volume"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"empty","uid":-1}])"),
       "volumes[0].uid: must be between 0 and 4294967294"},
      {pod(app, R"(,"volumes":[{"name":"v","kind":"empty"},{"name":"v","kind":"empty"}])"),
       R"(volumes[1].name: duplicate volume "v")"},
      {pod(app, R"(,"isolators":[{"name":"os/linux/oom-score-adj","value":5000}])"),
       "isolators[0].value: must be between -1000 and 1000"},
      {pod(app, R"(,"ports":[{"name":"http","hostPort":70000}])"),
       "ports[0].hostPort: must be between 1 and 65535"},
      {pod(app, R"(,"ports":[{"name":"http","hostPort":80,"hostIP":"localhost"}])"),
       R"(ports[0].hostIP: must be an IPv4 or IPv6 address, not "localhost")"},
      {pod(app, R"(,"ports":[{"name":"http","hostPort":80,"podPort":{"name":"http","port":80}}])"),
       "ports[0].podPort.protocol: required field is missing"},
      {pod(app, R"(,"ports":[{"name":"a","hostPort":80},{"name":"a","hostPort":81}])"),
       R"(ports[1].name: duplicate port "a")"},
      {pod(app, R"(,"userAnnotations":[])"), "userAnnotations: must be an object, not an array"},
      {pod(app, R"(,"criAnnotations":{})"), "criAnnotations: unknown field"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errorOf([&] { PodManifest::fromJson(json::parse(c.json, "t")); }), c.error) << c.json;
  }
}

}  // namespace
}  // namespace ferry::appc
