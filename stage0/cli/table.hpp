// Aligned text tables for `list` and `image list`: every column as wide as its widest cell
// (counted in characters, not bytes), two spaces between columns, the last one unpadded. Cells
// never hold a tab or a newline (they become spaces) nor any other control character (shown
// escaped: common/printable.hpp). Scripts read `--format=json`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ferry::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // A row with fewer cells than the header gets "-" for the rest.
  void add(std::vector<std::string> row);
  // legend: whether the header line is printed (--no-legend: not).
  void print(std::ostream& os, bool legend) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ferry::cli
