// discovery::parseAppcImageRef on arbitrary text (for the host and for a fixed linux/arm64
// host). What parses has os and arch filled in, and its str() parses back to an equal reference.
#include "discovery/appc_image_ref.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::discovery::AppcImageRef;
using ferry::fuzz::check;

void fuzzFor(std::string_view text, const ferry::appc::OciPlatform& host) {
  ferry::fuzz::expect([&] {
    AppcImageRef ref = ferry::discovery::parseAppcImageRef(text, host);
    std::string s = ref.str();
    AppcImageRef again = [&] {
      try {
        return ferry::discovery::parseAppcImageRef(s, host);
      } catch (const std::exception& e) {
        check(false, std::string("str() does not parse back: ") + e.what(), s);
        throw;
      }
    }();
    check(again == ref, "parseAppcImageRef(str()) differs from the first parse", s);
    check(again.str() == s, "str() is not stable", s);
    check(ref.labels.get("os").has_value(), "no os label", s);
    check(!ref.labels.get("name"), "a label called name", s);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = ferry::fuzz::asText(data, size);
  fuzzFor(text, ferry::discovery::hostPlatform());
  fuzzFor(text, ferry::appc::OciPlatform{"linux", "arm64", "v8"});
  return 0;
}
