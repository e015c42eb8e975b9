#include "common/fs.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/error.hpp"
#include "common/interrupt.hpp"

namespace ferry {

namespace fs = std::filesystem;

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

UniqueFd openFile(const fs::path& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throwErrno("open " + quote(path.string()));
  return UniqueFd(fd);
}

std::string readFile(const fs::path& path, uint64_t maxSize) {
  UniqueFd fd = openFile(path, O_RDONLY);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(path.string()));
  if (static_cast<uint64_t>(st.st_size) > maxSize) {
    throw Error(Errc::kLimit, "cannot read " + quote(path.string()) + ": larger than " +
                                  std::to_string(maxSize) + " bytes");
  }
  std::string data;
  char buf[65536];
  for (;;) {
    size_t n = readFull(fd.get(), buf, sizeof buf, path.string());
    data.append(buf, n);
    if (data.size() > maxSize) {
      throw Error(Errc::kLimit, "cannot read " + quote(path.string()) + ": larger than " +
                                    std::to_string(maxSize) + " bytes");
    }
    if (n < sizeof buf) break;
  }
  return data;
}

void makePrivateDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return;
  if (errno != EEXIST) throwErrno("create " + quote(dir.string()));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) throwErrno("stat " + quote(dir.string()));
  if (!S_ISDIR(st.st_mode)) {
    throw Error(Errc::kInvalid, "cannot use " + quote(dir.string()) + ": not a directory");
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), st.st_mode & 07700) != 0) {
    throwErrno("restrict the permissions of " + quote(dir.string()));
  }
}

void makeDirs(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) == 0 || errno == EEXIST) return;
  if (errno != ENOENT) throwErrno("create " + quote(dir.string()));
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec) throw std::system_error(ec, "cannot create " + quote(dir.parent_path().string()));
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    throwErrno("create " + quote(dir.string()));
}

void writeAll(int fd, const void* data, size_t size, std::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("write " + quote(what));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

size_t readFull(int fd, void* data, size_t size, std::string_view what) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, p + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("read " + quote(what));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void syncDir(const fs::path& dir) {
  UniqueFd fd = openFile(dir, O_RDONLY | O_DIRECTORY);
  if (::fsync(fd.get()) != 0) throwErrno("sync directory " + quote(dir.string()));
}

void writeFileAtomic(const fs::path& path, std::string_view data, mode_t mode, Sync sync) {
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (raw < 0) throwErrno("create temporary file in " + quote(dir.string()));
  UniqueFd fd(raw);
  try {
    writeAll(fd.get(), data.data(), data.size(), tmpl);
    if (::fchmod(fd.get(), mode) != 0) throwErrno("chmod " + quote(tmpl));
    if (sync == Sync::kDurable && ::fsync(fd.get()) != 0) throwErrno("sync " + quote(tmpl));
    fd.reset();
    if (::rename(tmpl.c_str(), path.c_str()) != 0) throwErrno("rename to " + quote(path.string()));
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
  if (sync == Sync::kDurable) syncDir(dir);
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
  std::string tmpl = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throwErrno("create temporary directory in " + quote(parent.string()));
  path_ = tmpl;
  interrupt::track(path_.native());
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  try {
    removeTree(path_);
  } catch (...) {
    // A destructor cannot report; the tree stays behind for gc.
  }
  interrupt::untrack(path_.native());
}

fs::path TempDir::release() {
  interrupt::untrack(path_.native());
  fs::path p = std::move(path_);
  path_.clear();
  return p;
}

void removeTree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // does not follow symlinks
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw std::system_error(ec, "cannot remove " + quote(path.string()));
  }
}

std::vector<std::string_view> pathComponents(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (!c.empty() && c != ".") out.push_back(c);
    i = j + 1;
  }
  return out;
}

std::string unescapeMountinfo(std::string_view s) {
  auto digit = [](char c, char max) { return c >= '0' && c <= max; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && digit(s[i + 1], '3') && digit(s[i + 2], '7') &&
        digit(s[i + 3], '7')) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace ferry
