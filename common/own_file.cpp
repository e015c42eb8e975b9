#include "common/own_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry {

namespace fs = std::filesystem;

std::optional<std::string> readOwnFile(const fs::path& file, size_t maxSize) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    // ELOOP: a symlink; ENXIO: a socket.
    if (errno == ENOENT || errno == ELOOP || errno == ENXIO) return std::nullopt;
    throwErrno("open " + quote(file.string()));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(file.string()));
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) return std::nullopt;
  if (static_cast<uint64_t>(st.st_size) > maxSize) {
    throw Error(Errc::kLimit, "cannot read " + quote(file.string()) + ": larger than " +
                                  std::to_string(maxSize) + " bytes");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  text.resize(readFull(fd.get(), text.data(), text.size(), file.string()));
  return text;
}

bool isOwnFile(const fs::path& file) {
  struct stat st;
  return ::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid();
}

}  // namespace ferry
