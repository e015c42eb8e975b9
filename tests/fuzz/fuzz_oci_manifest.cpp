// OCI ImageManifest::parse on arbitrary text, strict and lenient (see oci_fuzz.hpp).
#include "formats/oci/manifest.hpp"
#include "tests/fuzz/oci_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::fuzzOciDocument<ferry::oci::ImageManifest>(data, size, "oci image manifest", false);
  return 0;
}
