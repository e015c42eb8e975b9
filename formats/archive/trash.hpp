// What an extraction removes (a whiteout's target, a file a later layer replaces) moved aside
// at once and deleted on a thread of its own, while the extraction goes on.
//
// Freeing a file's blocks can wait for the disk: on ext4 without a journal and with the
// discard option (this project's test machines), every unlink of a file with data issues a
// synchronous discard, and an image whose later layers delete or rewrite files of earlier ones
// spent most of a render's blocked time there. A rename into the trash frees the name at once
// (no block is freed); the deleter unlinks behind the extraction.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/fs.hpp"

namespace ferry::archive {

class Trash {
 public:
  // `dir` is created (it must not exist) on the file system of the tree the entries come from,
  // outside that tree; it is removed by finish().
  explicit Trash(std::filesystem::path dir);
  ~Trash();  // finish(), errors ignored
  Trash(const Trash&) = delete;
  Trash& operator=(const Trash&) = delete;

  // Moves `name` of directory `dirfd` (a regular file with data, or a whole directory) into the
  // trash; false when it cannot (another file system: the caller removes it itself).
  bool take(int dirfd, const std::string& name);
  // Waits until everything taken is deleted, then removes the trash directory.
  void finish();

 private:
  void deleter();

  std::filesystem::path dir_;
  UniqueFd fd_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool finished_ = false;
  bool crossDevice_ = false;
  uint64_t next_ = 0;
  std::thread thread_;
};

}  // namespace ferry::archive
