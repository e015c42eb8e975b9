#include "stage0/fetch/oci_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {

bool isAlgorithmName(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// What a layout may hold: 'd' a directory, 'f' a regular file, 0 neither.
char layoutKind(std::string_view path) {
  if (path == "oci-layout" || path == "index.json") return 'f';
  if (path == "blobs") return 'd';
  if (!path.starts_with("blobs/")) return 0;
  std::string_view rest = path.substr(6);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return isAlgorithmName(rest) ? 'd' : 0;
  std::string_view alg = rest.substr(0, slash);
  std::string_view hex = rest.substr(slash + 1);
  if (!isAlgorithmName(alg) || hex.empty() || hex.size() > 256 || !isLowerHex(hex)) return 0;
  return 'f';
}

}  // namespace

void unpackLayoutArchive(const fs::path& archivePath, const fs::path& dir) {
  archive::Reader reader(archivePath);
  UniqueFd root = openFile(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  archive::Entry e;
  std::string buf(1 << 20, '\0');
  while (reader.next(e)) {
    char kind = layoutKind(e.path);
    if (kind == 0) {
      throw reader.error(Errc::kSecurity, e.path, "not part of an OCI image layout");
    }
    bool isDir = e.type == archive::Type::kDir;
    if ((kind == 'd') != isDir || (!isDir && e.type != archive::Type::kFile)) {
      throw reader.error(Errc::kSecurity, e.path,
                         "a " + std::string(archive::typeName(e.type)) +
                             " where the layout has a " +
                             (kind == 'd' ? "directory" : "regular file"));
    }
    // Parents are made as needed (tars may omit them); names were checked above, so the
    // only directories ever made are blobs/ and blobs/<alg>/, and nothing is followed.
    std::string parent(archive::parentPath(e.path));
    if (!parent.empty()) {
      std::string top = parent.substr(0, parent.find('/'));
      for (const std::string& d : {top, parent}) {
        if (::mkdirat(root.get(), d.c_str(), 0755) != 0 && errno != EEXIST) {
          throwErrno("create " + quote((dir / d).string()));
        }
      }
    }
    if (isDir) {
      if (::mkdirat(root.get(), e.path.c_str(), 0755) != 0 && errno != EEXIST) {
        throwErrno("create " + quote((dir / e.path).string()));
      }
      continue;
    }
    UniqueFd out(::openat(root.get(), e.path.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out) {
      if (errno == EEXIST) throw reader.error(Errc::kSecurity, e.path, "a duplicate entry");
      throwErrno("create " + quote((dir / e.path).string()));
    }
    for (size_t n; (n = reader.read(buf.data(), buf.size())) > 0;) {
      writeAll(out.get(), buf.data(), n, (dir / e.path).string());
    }
  }
  reader.finish();
}

}  // namespace ferry::fetch
