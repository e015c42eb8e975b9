// GPGME's functions for the ferry executable, loaded on first use (common/lazy_lib.hpp).
#include <gpgme.h>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kGpgme = "libgpgme.so.11";
}

FERRY_LAZY_FUNCTION(kGpgme, const char*, gpgme_check_version_internal,
                    (const char* req_version, size_t offset_sig_validity),
                    (req_version, offset_sig_validity))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_new, (gpgme_ctx_t * ctx), (ctx))
FERRY_LAZY_FUNCTION(kGpgme, void, gpgme_release, (gpgme_ctx_t ctx), (ctx))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_ctx_set_engine_info,
                    (gpgme_ctx_t ctx, gpgme_protocol_t proto, const char* file_name,
                     const char* home_dir),
                    (ctx, proto, file_name, home_dir))
FERRY_LAZY_FUNCTION(kGpgme, void, gpgme_set_armor, (gpgme_ctx_t ctx, int yes), (ctx, yes))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_set_locale,
                    (gpgme_ctx_t ctx, int category, const char* value), (ctx, category, value))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_data_new_from_fd, (gpgme_data_t * dh, int fd),
                    (dh, fd))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_data_new_from_mem,
                    (gpgme_data_t * dh, const char* buffer, size_t size, int copy),
                    (dh, buffer, size, copy))
FERRY_LAZY_FUNCTION(kGpgme, void, gpgme_data_release, (gpgme_data_t dh), (dh))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_get_key,
                    (gpgme_ctx_t ctx, const char* fpr, gpgme_key_t* key, int secret),
                    (ctx, fpr, key, secret))
FERRY_LAZY_FUNCTION(kGpgme, void, gpgme_key_unref, (gpgme_key_t key), (key))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_op_import, (gpgme_ctx_t ctx, gpgme_data_t keys),
                    (ctx, keys))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_import_result_t, gpgme_op_import_result, (gpgme_ctx_t ctx), (ctx))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_error_t, gpgme_op_verify,
                    (gpgme_ctx_t ctx, gpgme_data_t sig, gpgme_data_t signed_text,
                     gpgme_data_t plaintext),
                    (ctx, sig, signed_text, plaintext))
FERRY_LAZY_FUNCTION(kGpgme, gpgme_verify_result_t, gpgme_op_verify_result, (gpgme_ctx_t ctx), (ctx))
FERRY_LAZY_FUNCTION(kGpgme, int, gpgme_strerror_r, (gpg_error_t err, char* buf, size_t buflen),
                    (err, buf, buflen))
