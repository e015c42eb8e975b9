// Shared libraries loaded on first use.
//
// The ferry binary needs libcurl, libarchive and GPGME only to fetch, unpack and verify, yet
// loading them and what they pull in (GnuTLS, Kerberos, LDAP, ICU, libxml2: ~40 objects) costs
// every ferry process ~6 ms before main — more than half of what a warm `ferry run` does itself.
// So the ferry executable does not link them: it defines their functions itself (the *_lazy.cpp
// files beside their users), each a trampoline that resolves the real function here on first
// call. Libraries and tests keep linking the real ones; the linker drops the unneeded
// DT_NEEDED entries of the executable (--as-needed), and a test checks that they are gone.
#pragma once

namespace ferry::lazy {

// The address of `name` in `library` (a soname), loaded once with RTLD_LOCAL so that its
// symbols never interpose on ferry's trampolines. Throws Error{kUnsupported} naming the library
// and the loader's reason when it cannot be loaded or lacks the symbol.
void* symbol(const char* library, const char* name);

}  // namespace ferry::lazy

// Defines `extern "C" RET NAME PARAMS` forwarding ARGS to the function of that name in LIB.
// PARAMS must match the library header's declaration (the compiler checks it).
#define FERRY_LAZY_FUNCTION(LIB, RET, NAME, PARAMS, ARGS)                         \
  extern "C" RET NAME PARAMS {                                                    \
    using Fn = RET(*) PARAMS;                                                     \
    static const Fn fn = reinterpret_cast<Fn>(::ferry::lazy::symbol(LIB, #NAME)); \
    return fn ARGS;                                                               \
  }
