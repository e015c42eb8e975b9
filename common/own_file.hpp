// Files ferry wrote, read back from a directory where others may create files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace ferry {

// A file this process wrote, read back from a directory where others may create files (a pod
// directory under --private-users: stage1/ABI.md §1): only a regular file owned by the effective
// user counts, opened without following a symlink and without blocking (a FIFO); anything else,
// like a missing file, reads as nullopt. Error{kLimit} when larger than maxSize.
std::optional<std::string> readOwnFile(const std::filesystem::path& file, size_t maxSize);
// Whether `file` is such a file (without reading it).
bool isOwnFile(const std::filesystem::path& file);

}  // namespace ferry
