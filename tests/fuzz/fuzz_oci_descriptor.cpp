// OCI Descriptor::parse on arbitrary text, strict and lenient (see oci_fuzz.hpp).
#include "formats/oci/descriptor.hpp"
#include "tests/fuzz/oci_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::fuzzOciDocument<ferry::oci::Descriptor>(data, size, "oci descriptor", false);
  return 0;
}
