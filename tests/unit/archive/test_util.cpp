#include "tests/unit/archive/test_util.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "common/error.hpp"

namespace ferry::archive {
void PrintTo(const Entry& e, std::ostream* os) {
  *os << "{" << quote(e.path) << " " << typeName(e.type) << " mode=" << std::oct << e.mode
      << std::dec << " " << e.uid << ":" << e.gid << " " << quote(e.uname) << ":" << quote(e.gname)
      << " mtime=" << e.mtimeSec << "." << e.mtimeNsec << " size=" << e.size
      << " link=" << quote(e.linkTarget) << " dev=" << e.devMajor << "," << e.devMinor;
  for (const auto& [k, v] : e.xattrs) *os << " " << k << "=" << quote(v);
  *os << "}";
}
}  // namespace ferry::archive

namespace ferry::archive::test {

std::string sh(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "command failed: " << command;
  return out;
}

WriteResult writeArchive(const std::filesystem::path& file, const Content& content,
                         WriterOptions options) {
  UniqueFd fd = openFile(file, O_WRONLY | O_CREAT | O_TRUNC);
  Writer w(fd.get(), options);
  for (const auto& [e, data] : content) {
    w.add(e);
    w.write(data.data(), data.size());
  }
  return w.finish();
}

Content readArchive(const std::filesystem::path& file, ReaderOptions options, ReadResult* result) {
  Reader r(file, options);
  Content out;
  Entry e;
  while (r.next(e)) {
    std::string data;
    char buf[7000];  // odd size on purpose: exercises partial chunks
    size_t n;
    while ((n = r.read(buf, sizeof buf)) > 0) data.append(buf, n);
    out.emplace_back(e, std::move(data));
  }
  ReadResult res = r.finish();
  if (result) *result = res;
  return out;
}

std::string fileBytes(const std::filesystem::path& file) { return readFile(file, 1u << 30); }

}  // namespace ferry::archive::test
