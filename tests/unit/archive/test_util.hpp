// Helpers shared by the archive tests: temp dirs, running system tools, building archives.
#pragma once

#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "common/fs.hpp"
#include "formats/archive/reader.hpp"
#include "formats/archive/writer.hpp"

namespace ferry::archive {
// gtest printing of entries.
void PrintTo(const Entry& e, std::ostream* os);
}  // namespace ferry::archive

namespace ferry::archive::test {

// Runs a shell command; returns its stdout. Fails the test on a non-zero exit.
std::string sh(const std::string& command);

// Entries with their data (empty for everything but regular files).
using Content = std::vector<std::pair<Entry, std::string>>;

WriteResult writeArchive(const std::filesystem::path& file, const Content& content,
                         WriterOptions options = {});

// Reads every entry (and its data) of an archive.
Content readArchive(const std::filesystem::path& file, ReaderOptions options = {},
                    ReadResult* result = nullptr);

std::string fileBytes(const std::filesystem::path& file);

}  // namespace ferry::archive::test
