#include "stage0/convert/sorted_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::convert {

bool pathLess(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    return x < y;
  }
  return a.size() < b.size();
}

SortedTree::SortedTree(const std::filesystem::path& spoolDir) : spoolName_(spoolDir.string()) {
  int fd = ::open(spoolDir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) throwErrno("create a spool file in " + quote(spoolName_));
  spool_.reset(fd);
}

void SortedTree::entry(const archive::Entry& e, archive::Reader& data) {
  Item item{e, spoolSize_};
  if (e.type == archive::Type::kFile) {
    for (std::string_view chunk = data.readChunk(); !chunk.empty(); chunk = data.readChunk()) {
      writeAll(spool_.get(), chunk.data(), chunk.size(), spoolName_);
      spoolSize_ += chunk.size();
    }
  }
  items_.push_back(std::move(item));
}

std::optional<std::string> SortedTree::fileData(std::string_view path, uint64_t maxSize) const {
  for (const auto& item : items_) {
    if (item.entry.path != path) continue;
    if (item.entry.type != archive::Type::kFile || item.entry.size > maxSize) return std::nullopt;
    std::string out(item.entry.size, '\0');
    ssize_t n = ::pread(spool_.get(), out.data(), out.size(), static_cast<off_t>(item.offset));
    if (n != static_cast<ssize_t>(out.size())) throwErrno("read the spool in " + quote(spoolName_));
    return out;
  }
  return std::nullopt;
}

void SortedTree::sort() {
  std::sort(items_.begin(), items_.end(),
            [](const Item& a, const Item& b) { return pathLess(a.entry.path, b.entry.path); });
  // Hardlink groups: the first path in sort order must carry the data.
  std::map<std::string, std::vector<size_t>> links;  // target → link items
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < items_.size(); ++i) {
    index[items_[i].entry.path] = i;
    if (items_[i].entry.type == archive::Type::kHardlink) {
      links[items_[i].entry.linkTarget].push_back(i);
    }
  }
  for (auto& [target, group] : links) {
    auto t = index.find(target);
    if (t == index.end()) continue;  // the flattener guarantees a target; be safe anyway
    size_t first = t->second;
    for (size_t i : group) first = std::min(first, i);
    if (first == t->second) continue;
    Item& holder = items_[t->second];
    Item& newHolder = items_[first];
    std::string newPath = newHolder.entry.path;
    archive::Entry data = holder.entry;
    data.path = newPath;
    newHolder = Item{data, holder.offset};
    holder.entry.type = archive::Type::kHardlink;
    holder.entry.size = 0;
    holder.entry.linkTarget = newPath;
    for (size_t i : group) {
      if (i != first) items_[i].entry.linkTarget = newPath;
    }
  }
}

void SortedTree::writeTo(archive::Writer& w, std::string_view prefix) {
  sort();
  std::vector<char> buf(1 << 20);
  for (const auto& item : items_) {
    archive::Entry e = item.entry;
    e.path = std::string(prefix) + e.path;
    if (e.type == archive::Type::kHardlink) e.linkTarget = std::string(prefix) + e.linkTarget;
    w.add(e);
    if (e.type != archive::Type::kFile) continue;
    uint64_t off = item.offset, left = e.size;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      ssize_t got = ::pread(spool_.get(), buf.data(), n, static_cast<off_t>(off));
      if (got <= 0) throwErrno("read the spool in " + quote(spoolName_));
      w.write(buf.data(), static_cast<size_t>(got));
      off += static_cast<uint64_t>(got);
      left -= static_cast<uint64_t>(got);
    }
  }
}

}  // namespace ferry::convert
