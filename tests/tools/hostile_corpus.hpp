// A corpus of hostile archives, written byte by byte (tar headers are built here, not by
// libarchive, which would refuse most of them). Used by make_hostile_corpus and the unit tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ferry::testing {

struct HostileCase {
  std::string file;         // file name inside the corpus directory
  std::string description;  // what it tries
};

// Writes every case into `dir` (which must exist) and returns the list.
std::vector<HostileCase> writeHostileCorpus(const std::filesystem::path& dir);

}  // namespace ferry::testing
