// appc PodManifest::parse on arbitrary text; what parses must round-trip through toJson().
#include "formats/appc/pod_manifest.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ferry::appc::PodManifest;
  auto parse = [](std::string_view text, std::string_view what) {
    return PodManifest::parse(text, what);
  };
  ferry::fuzz::expect([&] {
    PodManifest m = parse(ferry::fuzz::asText(data, size), "fuzz input");
    ferry::fuzz::checkRoundTrip(m, parse, "appc pod manifest");
    for (const auto& app : m.apps)
      ferry::fuzz::check(m.findApp(app.name.str()) != nullptr, "findApp");
  });
  return 0;
}
