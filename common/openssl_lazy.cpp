// OpenSSL's libcrypto for the ferry executable, loaded on first use (common/lazy_lib.hpp): a
// warm pod start hashes nothing, and libcrypto's loading and relocation cost every process.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kCrypto = "libcrypto.so.3";
}

FERRY_LAZY_FUNCTION(kCrypto, const EVP_MD*, EVP_sha256, (void), ())
FERRY_LAZY_FUNCTION(kCrypto, const EVP_MD*, EVP_sha512, (void), ())
FERRY_LAZY_FUNCTION(kCrypto, EVP_MD_CTX*, EVP_MD_CTX_new, (void), ())
FERRY_LAZY_FUNCTION(kCrypto, void, EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))
FERRY_LAZY_FUNCTION(kCrypto, int, EVP_DigestInit_ex,
                    (EVP_MD_CTX * ctx, const EVP_MD* type, ENGINE* impl), (ctx, type, impl))
FERRY_LAZY_FUNCTION(kCrypto, int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void* d, size_t cnt),
                    (ctx, d, cnt))
FERRY_LAZY_FUNCTION(kCrypto, int, EVP_DigestFinal_ex,
                    (EVP_MD_CTX * ctx, unsigned char* md, unsigned int* s), (ctx, md, s))
FERRY_LAZY_FUNCTION(kCrypto, unsigned char*, HMAC,
                    (const EVP_MD* evp_md, const void* key, int key_len, const unsigned char* data,
                     size_t data_len, unsigned char* md, unsigned int* md_len),
                    (evp_md, key, key_len, data, data_len, md, md_len))
FERRY_LAZY_FUNCTION(kCrypto, int, CRYPTO_memcmp, (const void* a, const void* b, size_t len),
                    (a, b, len))
FERRY_LAZY_FUNCTION(kCrypto, int, RAND_bytes, (unsigned char* buf, int num), (buf, num))
