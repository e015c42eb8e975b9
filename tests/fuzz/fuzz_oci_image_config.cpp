// OCI ImageConfig::parse on arbitrary text, strict and lenient (see oci_fuzz.hpp).
#include "formats/oci/image_config.hpp"
#include "tests/fuzz/oci_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::fuzzOciDocument<ferry::oci::ImageConfig>(data, size, "oci image config", false);
  return 0;
}
