// OCI RuntimeSpec::parse on arbitrary text, strict and lenient (see oci_fuzz.hpp).
#include "formats/oci/runtime_spec.hpp"
#include "tests/fuzz/oci_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::fuzzOciDocument<ferry::oci::RuntimeSpec>(data, size, "oci runtime spec", true);
  return 0;
}
