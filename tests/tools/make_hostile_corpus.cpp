// make_hostile_corpus OUTDIR: writes the hostile-archive corpus (see hostile_corpus.hpp).
#include <cstdio>
#include <exception>
#include <filesystem>

#include "tests/tools/hostile_corpus.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  try {
    std::filesystem::create_directories(argv[1]);
    for (const auto& c : ferry::testing::writeHostileCorpus(argv[1])) {
      std::printf("%-32s %s\n", c.file.c_str(), c.description.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_hostile_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
