// libcurl's functions for the ferry executable, loaded on first use (common/lazy_lib.hpp).
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include <cstdarg>

#include "common/lazy_lib.hpp"

namespace {
constexpr const char* kCurl = "libcurl.so.4";
}

FERRY_LAZY_FUNCTION(kCurl, CURLcode, curl_global_init, (long flags), (flags))
FERRY_LAZY_FUNCTION(kCurl, CURL*, curl_easy_init, (void), ())
FERRY_LAZY_FUNCTION(kCurl, void, curl_easy_cleanup, (CURL * h), (h))
FERRY_LAZY_FUNCTION(kCurl, void, curl_easy_reset, (CURL * h), (h))
FERRY_LAZY_FUNCTION(kCurl, CURLcode, curl_easy_perform, (CURL * h), (h))
FERRY_LAZY_FUNCTION(kCurl, const char*, curl_easy_strerror, (CURLcode code), (code))
FERRY_LAZY_FUNCTION(kCurl, curl_slist*, curl_slist_append, (curl_slist * list, const char* data),
                    (list, data))
FERRY_LAZY_FUNCTION(kCurl, void, curl_slist_free_all, (curl_slist * list), (list))

// The two variadic ones take exactly one argument after the option, whose type the option's
// number range names (curl.h: CURLOPTTYPE_*, CURLINFO_* are all pointers).
extern "C" CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  using Fn = CURLcode (*)(CURL*, CURLoption, ...);
  static const Fn fn = reinterpret_cast<Fn>(ferry::lazy::symbol(kCurl, "curl_easy_setopt"));
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = fn(h, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = fn(h, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = fn(h, option, va_arg(ap, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = fn(h, option, va_arg(ap, curl_off_t));
  } else {
    rc = fn(h, option, va_arg(ap, void*));
  }
  va_end(ap);
  return rc;
}

extern "C" CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  using Fn = CURLcode (*)(CURL*, CURLINFO, ...);
  static const Fn fn = reinterpret_cast<Fn>(ferry::lazy::symbol(kCurl, "curl_easy_getinfo"));
  va_list ap;
  va_start(ap, info);
  CURLcode rc = fn(h, info, va_arg(ap, void*));
  va_end(ap);
  return rc;
}
