// One appc fetch: an image and every dependency it pulls in, all or nothing.
//
// An AppcSession gets an ACI (a local file, an https URL, or an appc name found by meta
// discovery), checks it, and walks its dependencies (appc spec: by image ID, or by name and
// labels through discovery), recursively. Each ACI is streamed into an uncommitted store blob
// while its structure is checked (archive::readAci), its detached signature is verified against
// ferry's trust store (TrustStore, scoped by name prefix) unless --insecure-options=image, and
// a discovered image's manifest must carry the name and labels asked for. Nothing reaches the
// store until commit(): a failure anywhere (a 404, a bad signature, a dependency cycle, a hostile
// archive in the third dependency) drops every uncommitted blob, so the store is as it was.
//
// Order of checks for a discovered image: the signature is verified against the keys trusted for
// the name asked for *before* the archive is read, then the manifest must match that name and
// those labels. For a URL or a local file the name comes from the manifest, so the archive is
// read (structure-checked, nothing extracted) first.
//
// Remotes: every downloaded ACI's URL is recorded with its ETag and Cache-Control max-age. A
// remote whose image is in the store and whose max-age has not run out is reused without a
// request; otherwise a stored ETag makes the GET conditional (If-None-Match), and 304 keeps the
// stored image.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "discovery/appc_image_ref.hpp"
#include "formats/appc/image_manifest.hpp"
#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {

class AppcSession {
 public:
  explicit AppcSession(FetchContext& ctx);
  ~AppcSession();
  AppcSession(const AppcSession&) = delete;
  AppcSession& operator=(const AppcSession&) = delete;

  // Each returns the image ID once the image and its dependencies are committed. Call one of
  // them once per session.
  std::string fetchByName(const discovery::AppcImageRef& ref);
  std::string fetchByUrl(const std::string& url);
  // `fd`, when given, is the file opened already: it is read instead of opening `path`.
  std::string fetchLocal(const std::filesystem::path& path, UniqueFd fd = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An image on the dependency path being walked (the image asked for first).
struct DependencyLink {
  std::string id;
  std::string name;
  appc::Labels labels;
};

// The cycle that fetching `dep` would close, as "a -> b -> a", when an image on `chain` is the
// one `dep` names: same name and, when `dep` pins an image ID, that ID; otherwise every label
// `dep` asks for with the same value.
std::optional<std::string> dependencyCycle(const std::vector<DependencyLink>& chain,
                                           const appc::Dependency& dep);

// Dependency chains deeper than this are refused (a server could serve an endless chain of
// distinct images).
inline constexpr size_t kMaxDependencyDepth = 32;

}  // namespace ferry::fetch
