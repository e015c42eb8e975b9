#include "stage0/trust/trust_store.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/names.hpp"

namespace ferry::trust {

namespace fs = std::filesystem;

std::string escapePrefix(std::string_view prefix) {
  std::string out(prefix);
  std::replace(out.begin(), out.end(), '/', ',');
  return out;
}

bool prefixCovers(std::string_view prefix, std::string_view name) {
  if (name.size() < prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '/';
}

TrustStore::TrustStore(fs::path dataDir)
    : dataDir_(std::move(dataDir)), root_(dataDir_ / "trust") {}

TrustedKey TrustStore::add(const Scope& scope, std::string_view armored, const KeyInfo& key) {
  if (scope.prefix && !appc::AcIdentifier::isValid(*scope.prefix)) {
    throw Error(Errc::kInvalid, "invalid prefix " + quote(*scope.prefix) +
                                    ": not an AC Identifier (like example.com/app)");
  }
  fs::path dir = scope.prefix ? root_ / "prefix.d" / escapePrefix(*scope.prefix) : root_ / "root.d";
  fs::create_directories(dir);
  TrustedKey k{scope, key.fingerprint, dir / key.fingerprint};
  writeFileAtomic(k.file, armored, 0644);
  return k;
}

std::vector<TrustedKey> TrustStore::list() const {
  std::vector<TrustedKey> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ / "root.d", ec)) {
    out.push_back({Scope{}, e.path().filename().string(), e.path()});
  }
  for (const auto& d : fs::directory_iterator(root_ / "prefix.d", ec)) {
    std::string prefix = d.path().filename().string();
    std::replace(prefix.begin(), prefix.end(), ',', '/');
    std::error_code ec2;
    for (const auto& e : fs::directory_iterator(d.path(), ec2)) {
      out.push_back({Scope{prefix}, e.path().filename().string(), e.path()});
    }
  }
  std::sort(out.begin(), out.end(), [](const TrustedKey& a, const TrustedKey& b) {
    return std::tie(a.scope.prefix, a.fingerprint) < std::tie(b.scope.prefix, b.fingerprint);
  });
  return out;
}

bool TrustStore::remove(std::string_view fingerprint) {
  bool removed = false;
  for (const auto& k : list()) {
    if (k.fingerprint == fingerprint) removed = fs::remove(k.file) || removed;
  }
  return removed;
}

std::vector<TrustedKey> TrustStore::keysFor(std::string_view imageName) const {
  std::vector<TrustedKey> out;
  for (auto& k : list()) {
    if (!k.scope.prefix || prefixCovers(*k.scope.prefix, imageName)) out.push_back(std::move(k));
  }
  return out;
}

std::string TrustStore::verify(std::string_view imageName, const fs::path& aciFile,
                               std::string_view signature) const {
  std::vector<TrustedKey> keys = keysFor(imageName);
  std::string what = "image " + quote(imageName);
  if (keys.empty()) {
    throw Error(Errc::kSecurity, "cannot verify " + what +
                                     ": no trusted key for it (see 'ferry trust --prefix=" +
                                     std::string(imageName) + " KEY')");
  }
  fs::path scratch = dataDir_ / "tmp";
  fs::create_directories(scratch);
  Keyring ring(scratch);
  for (const auto& k : keys) ring.import(readFile(k.file, 1 << 20), quote(k.file.string()));
  return ring.verifyDetached(aciFile, signature, what);
}

}  // namespace ferry::trust
