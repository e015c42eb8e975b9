#include "common/lazy_lib.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"

namespace ferry::lazy {

void* symbol(const char* library, const char* name) {
  static std::mutex mu;
  static std::map<std::string, void*> handles;
  std::lock_guard<std::mutex> hold(mu);
  void*& handle = handles[library];
  if (!handle) {
    handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      throw Error(Errc::kUnsupported, std::string("not supported: cannot load ") + library + ": " +
                                          (why ? why : "unknown error"));
    }
  }
  ::dlerror();
  void* fn = ::dlsym(handle, name);
  if (!fn) {
    const char* why = ::dlerror();
    throw Error(Errc::kUnsupported, std::string("not supported: ") + library + " has no " + name +
                                        ": " + (why ? why : "null symbol"));
  }
  return fn;
}

}  // namespace ferry::lazy
