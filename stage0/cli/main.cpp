#include <clocale>

#include "stage0/cli/command.hpp"

int main(int argc, char** argv) {
  // Archive member names are UTF-8 (pax); libarchive converts through the C library's locale.
  if (std::setlocale(LC_CTYPE, "C.UTF-8") == nullptr) std::setlocale(LC_CTYPE, "");
  return ferry::cli::main(argc, argv);
}
