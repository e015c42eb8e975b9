// appc ImageManifest::parse on arbitrary text; what parses must round-trip through toJson().
#include "formats/appc/image_manifest.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ferry::appc::ImageManifest;
  auto parse = [](std::string_view text, std::string_view what) {
    return ImageManifest::parse(text, what);
  };
  ferry::fuzz::expect([&] {
    ImageManifest m = parse(ferry::fuzz::asText(data, size), "fuzz input");
    ferry::fuzz::checkRoundTrip(m, parse, "appc image manifest");
  });
  return 0;
}
