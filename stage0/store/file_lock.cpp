#include "stage0/store/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "common/error.hpp"

namespace ferry::store {

namespace {

void doFlock(int fd, int op, const std::filesystem::path& path) {
  while (::flock(fd, op) != 0) {
    if (errno != EINTR) throwErrno("lock " + quote(path.string()));
  }
}

}  // namespace

FileLock::FileLock(const std::filesystem::path& path)
    : path_(path), fd_(openFile(path, O_RDWR | O_CREAT, 0644)) {}

void FileLock::lockShared() {
  std::lock_guard<std::mutex> g(mutex_);
  if (shared_ == 0 && exclusive_ == 0) doFlock(fd_.get(), LOCK_SH, path_);
  ++shared_;
}

void FileLock::lockExclusive() {
  std::lock_guard<std::mutex> g(mutex_);
  if (shared_ > 0) {
    throw Error(Errc::kInvalid, "cannot lock " + quote(path_.string()) +
                                    " exclusively: this store already holds it shared");
  }
  if (exclusive_ == 0) doFlock(fd_.get(), LOCK_EX, path_);
  ++exclusive_;
}

void FileLock::unlock() {
  std::lock_guard<std::mutex> g(mutex_);
  if (shared_ > 0) {
    --shared_;
  } else if (exclusive_ > 0) {
    --exclusive_;
  }
  if (shared_ == 0 && exclusive_ == 0) ::flock(fd_.get(), LOCK_UN);
}

}  // namespace ferry::store
