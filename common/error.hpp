// Errors in ferry.
//
// Everything ferry reports to a user is a ferry::Error: a typed code (so callers and the CLI can
// choose exit codes and retries) plus a one-line message of the form
// "cannot <verb> <object>: <cause>". System calls fail with std::system_error naming the
// operation and the path (see throwErrno). Context is added when crossing a layer with
// std::throw_with_nested; the CLI prints the outermost message, and the whole chain with --debug.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry {

enum class Errc {
  kInvalid,         // malformed input: a manifest, a name, a flag value
  kNotFound,        // a named thing does not exist
  kUnsupported,     // valid input that ferry deliberately does not handle
  kSecurity,        // input that tries to escape or break isolation (hostile archive, ...)
  kDigestMismatch,  // content does not hash to what it claims
  kIo,              // an operating system error that is not one of the above
  kLimit,           // a configured bound was exceeded (size, count)
  kUsage,           // bad command line
};

std::string_view errcName(Errc code);

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

// Throws std::system_error(errno) with "cannot <what>".
[[noreturn]] void throwErrno(const std::string& what);
[[noreturn]] void throwErrno(int err, const std::string& what);

// Flattens a nested exception chain: "outer: inner: innermost" when full, the outer only if not.
std::string describe(const std::exception& e, bool full);

// Quotes a path or name for messages: "foo" with control characters escaped.
std::string quote(std::string_view s);

}  // namespace ferry
