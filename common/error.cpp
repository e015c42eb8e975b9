#include "common/error.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace ferry {

std::string_view errcName(Errc code) {
  switch (code) {
    case Errc::kInvalid:
      return "invalid";
    case Errc::kNotFound:
      return "not found";
    case Errc::kUnsupported:
      return "not supported";
    case Errc::kSecurity:
      return "security";
    case Errc::kDigestMismatch:
      return "digest mismatch";
    case Errc::kIo:
      return "io";
    case Errc::kLimit:
      return "limit";
    case Errc::kUsage:
      return "usage";
  }
  return "unknown";
}

void throwErrno(const std::string& what) { throwErrno(errno, what); }

void throwErrno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "cannot " + what);
}

namespace {
void collect(const std::exception& e, std::string& out) {
  if (!out.empty()) out += ": ";
  out += e.what();
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    collect(inner, out);
  } catch (...) {
    out += ": (unknown error)";
  }
}
}  // namespace

std::string describe(const std::exception& e, bool full) {
  if (!full) return e.what();
  std::string out;
  collect(e, out);
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

}  // namespace ferry
