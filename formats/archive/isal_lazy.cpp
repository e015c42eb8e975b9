// ISA-L's igzip functions for the ferry executable, loaded on first use (common/lazy_lib.hpp):
// most `ferry` processes (a warm run, list, status) never inflate or deflate anything.
#include <isa-l/igzip_lib.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kIsal = "libisal.so.2";
}

FERRY_LAZY_FUNCTION(kIsal, void, isal_deflate_init, (struct isal_zstream * s), (s))
FERRY_LAZY_FUNCTION(kIsal, int, isal_deflate, (struct isal_zstream * s), (s))
FERRY_LAZY_FUNCTION(kIsal, void, isal_inflate_init, (struct inflate_state * s), (s))
FERRY_LAZY_FUNCTION(kIsal, void, isal_inflate_reset, (struct inflate_state * s), (s))
FERRY_LAZY_FUNCTION(kIsal, int, isal_inflate, (struct inflate_state * s), (s))
