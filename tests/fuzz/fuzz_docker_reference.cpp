// registry::DockerReference::parse on arbitrary text. What parses is valid by the grammar
// checks, has a tag or a digest, and its canonical str() parses back to an equal reference.
#include "discovery/reference.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::fuzz::check;
using ferry::registry::DockerReference;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::expect([&] {
    DockerReference ref = DockerReference::parse(ferry::fuzz::asText(data, size));
    std::string s = ref.str();
    check(s.starts_with(ferry::registry::kDockerScheme), "str() without docker://", s);
    DockerReference again = [&] {
      try {
        return DockerReference::parse(s);
      } catch (const std::exception& e) {
        check(false, std::string("str() does not parse back: ") + e.what(), s);
        throw;
      }
    }();
    check(again == ref, "parse(str()) differs from the first parse", s);
    check(again.str() == s, "str() is not stable", s);
    // Without the scheme, and by name() plus tag/digest, it is the same reference.
    check(DockerReference::parse(s.substr(ferry::registry::kDockerScheme.size())) == ref,
          "the reference without docker:// differs", s);
    check(ref.tag() || ref.digest(), "neither tag nor digest", s);
    if (ref.tag()) check(ferry::registry::isValidTag(*ref.tag()), "invalid tag", s);
    check(ferry::registry::isValidRegistry(ref.registry()), "invalid registry", s);
    check(ref.registry() != "index.docker.io", "legacy Docker Hub name kept", s);
    check(!ref.repository().empty(), "empty repository", s);
    check(ref.name() == ref.registry() + "/" + ref.repository(), "name()", s);
    check(!ref.manifestReference().empty(), "empty manifest reference", s);
    if (ref.digest()) {
      check(ref.manifestReference() == ref.digest()->str(), "digest not preferred", s);
      check(ref.withDigest(*ref.digest()) == ref, "withDigest", s);
    }
  });
  return 0;
}
