// The store's inter-process lock: flock(2) on `cas/lock` (LockHold is what Store hands out).
//
// flock belongs to the open file description, so each Store opens the lock file itself and
// several Stores (threads or processes) exclude each other. Within one Store the lock is
// counted: nested shared holds share one flock, and a shared hold inside an exclusive one is
// free (gc calls the same helpers as writers). Taking the exclusive lock while this Store holds
// the shared one is a programming error (it could deadlock two upgraders) and throws.
#pragma once

#include <filesystem>
#include <mutex>

#include "common/fs.hpp"

namespace ferry::store {

class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  void lockShared();
  void lockExclusive();
  void unlock();  // undoes one lockShared() or lockExclusive()

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
  std::mutex mutex_;
  int shared_ = 0;
  int exclusive_ = 0;
};

// Holds one level of a FileLock.
class LockHold {
 public:
  enum class Mode { kShared, kExclusive };
  LockHold(FileLock& lock, Mode mode) : lock_(&lock) {
    if (mode == Mode::kShared) {
      lock.lockShared();
    } else {
      lock.lockExclusive();
    }
  }
  ~LockHold() { release(); }
  LockHold(LockHold&& o) noexcept : lock_(o.lock_) { o.lock_ = nullptr; }
  LockHold& operator=(LockHold&&) = delete;
  LockHold(const LockHold&) = delete;
  LockHold& operator=(const LockHold&) = delete;
  void release() noexcept {
    if (lock_ != nullptr) lock_->unlock();
    lock_ = nullptr;
  }

 private:
  FileLock* lock_;
};

}  // namespace ferry::store
