#include "formats/archive/tar_header.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

namespace ferry::archive::detail {

namespace {

// ustar field offsets and widths.
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100, kUid = 108, kGid = 116, kSize = 124, kMtime = 136;
constexpr size_t kChksum = 148, kTypeflag = 156, kLinkname = 157, kMagic = 257;
constexpr size_t kUname = 265, kGname = 297, kIdNameLen = 32;
constexpr size_t kDevmajor = 329, kDevminor = 337;

// Largest value an octal field of `width` bytes (digits + NUL) holds.
constexpr uint64_t maxOctal(size_t width) { return (uint64_t{1} << (3 * (width - 1))) - 1; }

void putOctal(char* block, size_t off, size_t width, uint64_t value) {
  // width-1 digits, zero padded, then NUL.
  char* p = block + off;
  p[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    p[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

void putString(char* block, size_t off, std::string_view s) {
  std::memcpy(block + off, s.data(), s.size());
}

bool isUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 6) {
      n = 1;
    } else if ((c >> 4) == 14) {
      n = 2;
    } else if ((c >> 3) == 30) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}

// One pax record: "<len> <key>=<value>\n" where <len> counts the whole record.
void addRecord(std::string& out, std::string_view key, std::string_view value) {
  size_t body = 1 + key.size() + 1 + value.size() + 1;  // ' ' key '=' value '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  out += std::to_string(len);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

std::string paxTime(int64_t sec, uint32_t nsec) {
  // sec + nsec/1e9 as a decimal; negative times are written with the fraction of the
  // (negative) total, as POSIX specifies.
  char buf[64];
  if (sec >= 0 || nsec == 0) {
    if (nsec == 0) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(sec));
    } else {
      std::snprintf(buf, sizeof buf, "%lld.%09u", static_cast<long long>(sec), nsec);
    }
  } else {
    // e.g. sec = -2, nsec = 5e8 → -1.5 (POSIX; GNU tar agrees, libarchive 3.6 reads such
    // fractions one second off, so pre-1970 sub-second times do not round-trip through it)
    std::snprintf(buf, sizeof buf, "-%lld.%09u", static_cast<long long>(-(sec + 1)),
                  1'000'000'000u - nsec);
  }
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
  }
  return s;
}

void finishBlock(char* block) {
  std::memset(block + kChksum, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlockSize; ++i) sum += static_cast<unsigned char>(block[i]);
  std::snprintf(block + kChksum, 8, "%06o", sum);  // six digits, NUL
  block[kChksum + 7] = ' ';
}

char typeflag(Type t) {
  switch (t) {
    case Type::kFile:
      return '0';
    case Type::kHardlink:
      return '1';
    case Type::kSymlink:
      return '2';
    case Type::kChar:
      return '3';
    case Type::kBlock:
      return '4';
    case Type::kDir:
      return '5';
    case Type::kFifo:
      return '6';
  }
  return '0';
}

void appendBlock(std::string& out, const char* block) { out.append(block, kBlockSize); }

}  // namespace

void appendHeader(const Entry& e, std::string& out) {
  std::string name = e.path;
  if (e.type == Type::kDir) name += '/';
  std::string pax;
  bool binary = false;
  auto text = [&](std::string_view key, std::string_view value) {
    if (!isUtf8(value)) binary = true;
    addRecord(pax, key, value);
  };

  uint64_t mtime = 0;
  if (e.mtimeSec >= 0 && static_cast<uint64_t>(e.mtimeSec) <= maxOctal(12)) {
    mtime = static_cast<uint64_t>(e.mtimeSec);
  }
  // Keys in a fixed order, so equal entries give equal bytes.
  if (name.size() > kNameLen) text("path", name);
  if (e.linkTarget.size() > kNameLen) text("linkpath", e.linkTarget);
  if (e.size > maxOctal(12)) addRecord(pax, "size", std::to_string(e.size));
  if (e.uid > maxOctal(8)) addRecord(pax, "uid", std::to_string(e.uid));
  if (e.gid > maxOctal(8)) addRecord(pax, "gid", std::to_string(e.gid));
  if (e.uname.size() >= kIdNameLen) text("uname", e.uname);
  if (e.gname.size() >= kIdNameLen) text("gname", e.gname);
  if (e.mtimeNsec != 0 || static_cast<int64_t>(mtime) != e.mtimeSec) {
    addRecord(pax, "mtime", paxTime(e.mtimeSec, e.mtimeNsec));
  }
  if (e.devMajor > maxOctal(8)) addRecord(pax, "SCHILY.devmajor", std::to_string(e.devMajor));
  if (e.devMinor > maxOctal(8)) addRecord(pax, "SCHILY.devminor", std::to_string(e.devMinor));
  for (const auto& [key, value] : e.xattrs) addRecord(pax, "SCHILY.xattr." + key, value);
  if (binary) {
    std::string records = std::move(pax);
    pax.clear();
    addRecord(pax, "hdrcharset", "BINARY");
    pax += records;
  }

  char block[kBlockSize];
  if (!pax.empty()) {
    std::memset(block, 0, kBlockSize);
    std::string xname = "PaxHeaders/" + std::string(baseName(e.path).substr(0, 80));
    putString(block, kName, xname);
    putOctal(block, kMode, 8, 0644);
    putOctal(block, kUid, 8, 0);
    putOctal(block, kGid, 8, 0);
    putOctal(block, kSize, 12, pax.size());
    putOctal(block, kMtime, 12, mtime);
    block[kTypeflag] = 'x';
    std::memcpy(block + kMagic,
                "ustar\0"
                "00",
                8);
    finishBlock(block);
    appendBlock(out, block);
    out += pax;
    out.append(paddingFor(pax.size()), '\0');
  }

  std::memset(block, 0, kBlockSize);
  putString(block, kName, std::string_view(name).substr(0, kNameLen));
  putOctal(block, kMode, 8, e.mode & 07777);
  putOctal(block, kUid, 8, e.uid > maxOctal(8) ? 0 : e.uid);
  putOctal(block, kGid, 8, e.gid > maxOctal(8) ? 0 : e.gid);
  putOctal(block, kSize, 12, e.size > maxOctal(12) ? 0 : e.size);
  putOctal(block, kMtime, 12, mtime);
  block[kTypeflag] = typeflag(e.type);
  putString(block, kLinkname, std::string_view(e.linkTarget).substr(0, kNameLen));
  std::memcpy(block + kMagic,
              "ustar\0"
              "00",
              8);
  if (e.uname.size() < kIdNameLen) putString(block, kUname, e.uname);
  if (e.gname.size() < kIdNameLen) putString(block, kGname, e.gname);
  putOctal(block, kDevmajor, 8, e.devMajor > maxOctal(8) ? 0 : e.devMajor);
  putOctal(block, kDevminor, 8, e.devMinor > maxOctal(8) ? 0 : e.devMinor);
  finishBlock(block);
  appendBlock(out, block);
}

}  // namespace ferry::archive::detail
