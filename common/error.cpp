#include "common/error.hpp"
#include "common/printable.hpp"

#include <cerrno>
#include <cstdint>
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

namespace {

// The length of the valid UTF-8 sequence at s[i] (0: not one; overlong forms, surrogates and
// code points above U+10FFFF are not), its code point in `cp`.
size_t utf8At(std::string_view s, size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void appendPrintable(std::string& out, std::string_view s, bool keepNewline, bool keepTab,
                     bool quoting) {
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c == '\n' && keepNewline) || (c == '\t' && keepTab) || (c >= 0x20 && c != 0x7f)) {
        if (quoting && (c == '"' || c == '\\')) out += '\\';
        out += static_cast<char>(c);
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = utf8At(s, i, cp);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    } else if (cp <= 0x9F) {  // C1: 0x9b is CSI on many terminals
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

}  // namespace

std::string quote(std::string_view s) {
  std::string out = "\"";
  appendPrintable(out, s, false, false, true);
  out += '"';
  return out;
}

std::string printable(std::string_view s, bool keepNewline, bool keepTab) {
  std::string out;
  out.reserve(s.size());
  appendPrintable(out, s, keepNewline, keepTab, false);
  return out;
}

}  // namespace ferry
