// zstd's compression functions for the ferry executable, loaded on first use
// (common/lazy_lib.hpp): only `image convert`/`export` with zstd compress with it.
#include <zstd.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kZstd = "libzstd.so.1";
}

FERRY_LAZY_FUNCTION(kZstd, ZSTD_CCtx*, ZSTD_createCCtx, (void), ())
FERRY_LAZY_FUNCTION(kZstd, size_t, ZSTD_freeCCtx, (ZSTD_CCtx * c), (c))
FERRY_LAZY_FUNCTION(kZstd, size_t, ZSTD_CCtx_setParameter,
                    (ZSTD_CCtx * c, ZSTD_cParameter p, int value), (c, p, value))
FERRY_LAZY_FUNCTION(kZstd, size_t, ZSTD_compressStream2,
                    (ZSTD_CCtx * c, ZSTD_outBuffer* out, ZSTD_inBuffer* in, ZSTD_EndDirective end),
                    (c, out, in, end))
FERRY_LAZY_FUNCTION(kZstd, unsigned, ZSTD_isError, (size_t code), (code))
FERRY_LAZY_FUNCTION(kZstd, const char*, ZSTD_getErrorName, (size_t code), (code))
