// Helpers shared by the libFuzzer targets.
//
// A target feeds its input to a parser inside expect(): ferry::Error and std::system_error are
// how a parser rejects input, so they are swallowed; any other exception escapes, and libFuzzer
// reports it as a crash ("deadly signal" after std::terminate). check() aborts with a message
// when an invariant (a round-trip, a documented property) does not hold.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::fuzz {

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: invariant violated: %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Runs fn; true when it returned, false when it rejected the input with an expected error.
template <typename Fn>
bool expect(Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const ferry::Error&) {
    return false;
  } catch (const std::system_error&) {
    return false;
  }
}

inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Parses T's text, then checks that what it serializes parses back equal and serializes the
// same. `parse(text, what)` and `T::toJson()` are given by the caller.
template <typename T, typename Parse>
void checkRoundTrip(const T& first, Parse&& parse, std::string_view what) {
  std::string text = json::dump(first.toJson());
  T second = [&] {
    try {
      return parse(text, "round-trip");
    } catch (const std::exception& e) {
      check(false, std::string(what) + ": toJson() does not parse back: " + e.what(), text);
      throw;
    }
  }();
  check(first == second, std::string(what) + ": parse(toJson()) differs from the first parse",
        text);
  check(json::dump(second.toJson()) == text, std::string(what) + ": toJson() is not stable", text);
}

// Writes all of data to fd (a file or a pipe with room for it).
inline void writeAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) throwErrno("write fuzz input");
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// An anonymous file holding `data`, positioned at its start.
inline UniqueFd memFile(const uint8_t* data, size_t size) {
  UniqueFd fd(::memfd_create("fuzz", MFD_CLOEXEC));
  if (!fd) throwErrno("memfd_create");
  writeAll(fd.get(), data, size);
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) throwErrno("lseek");
  return fd;
}

// The read end of a pipe already holding all of `data` (then closed for writing), so that a
// reader sees a descriptor it cannot seek.
inline UniqueFd pipeWith(const uint8_t* data, size_t size) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throwErrno("pipe");
  UniqueFd r(fds[0]), w(fds[1]);
  if (size > 65536 && ::fcntl(w.get(), F_SETPIPE_SZ, static_cast<int>(size)) < 0) {
    throwErrno("grow pipe");
  }
  writeAll(w.get(), data, size);
  return r;
}

}  // namespace ferry::fuzz
