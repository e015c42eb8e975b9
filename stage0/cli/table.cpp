#include "stage0/cli/table.hpp"

#include <algorithm>

#include "common/printable.hpp"

namespace ferry::cli {

namespace {

// Characters of UTF-8 text (continuation bytes are not counted).
size_t width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

void Table::add(std::vector<std::string> row) {
  while (row.size() < header_.size()) row.emplace_back(1, '-');
  for (auto& cell : row) {
    if (cell.empty()) cell.push_back('-');  // (not = "-": gcc 12's -Wrestrict misfires)
    std::replace_if(
        cell.begin(), cell.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
    cell = printable(cell);  // an image's label, a status a kvm guest wrote: no escape sequences
  }
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& os, bool legend) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  };
  if (legend) measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&os, &widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      os << row[i];
      if (i + 1 < row.size()) os << std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    os << "\n";
  };
  if (legend) line(header_);
  for (const auto& r : rows_) line(r);
}

}  // namespace ferry::cli
