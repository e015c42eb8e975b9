#include "formats/archive/trash.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/error.hpp"

namespace ferry::archive {

namespace {

// Removes `name` of `dirfd` and everything below it, never following a symlink; errors are
// ignored (whatever is left goes with the trash directory's own removal).
void removeBelow(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM)) return;
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> children;
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") children.emplace_back(n);
  }
  for (const std::string& c : children) removeBelow(::dirfd(d), c.c_str());
  ::closedir(d);
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

}  // namespace

Trash::Trash(std::filesystem::path dir) : dir_(std::move(dir)) {
  if (::mkdir(dir_.c_str(), 0700) != 0) throwErrno("create directory " + quote(dir_.string()));
  fd_ = UniqueFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd_) throwErrno("open directory " + quote(dir_.string()));
}

Trash::~Trash() {
  try {
    finish();
  } catch (...) {
  }
}

bool Trash::take(int dirfd, const std::string& name) {
  if (finished_ || crossDevice_) return false;
  std::string to = std::to_string(next_++);
  if (::renameat(dirfd, name.c_str(), fd_.get(), to.c_str()) != 0) {
    if (errno == EXDEV) crossDevice_ = true;
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(to));
  }
  // The thread starts with the first file: an extraction that removes nothing has none.
  if (!thread_.joinable()) thread_ = std::thread([this] { deleter(); });
  wake_.notify_one();
  return true;
}

void Trash::deleter() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::string name = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    removeBelow(fd_.get(), name.c_str());
    lock.lock();
  }
}

void Trash::finish() {
  if (finished_) return;
  finished_ = true;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  fd_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // does not follow symlinks
  if (ec) throw std::system_error(ec, "cannot remove " + quote(dir_.string()));
}

}  // namespace ferry::archive
