// The pods registered with a metadata service, and what each one may read.
//
// A registration message (common/mds_client.hpp) is parsed into a Pod: every manifest is checked
// by formats/appc, the app annotations are merged as the spec says (the image's, then the pod
// manifest's app annotations replacing or adding), and the answers the endpoints give are
// prepared once. The PodRegistry indexes pods by UUID and by token; both are unique.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/uuid.hpp"

namespace ferry::mds {

using AnnotationList = std::vector<std::pair<std::string, std::string>>;

struct PodApp {
  std::string name;
  std::string imageId;         // "sha512-…", as the pod manifest gives it
  std::string imageManifest;   // the image manifest as registered (JSON text)
  AnnotationList annotations;  // merged: image, then pod manifest app annotations
};

struct Pod {
  appc::Uuid uuid;
  std::string token;
  std::string podManifest;     // JSON text; "annotations" always present
  AnnotationList annotations;  // the pod manifest's
  std::map<std::string, PodApp, std::less<>> apps;

  const PodApp* findApp(std::string_view name) const;
};

// Throws Error{kInvalid} naming the field ("apps[\"web\"].imageManifest.name: …").
Pod parseRegistration(const json::Json& message);

// A token is 32..256 characters of [A-Za-z0-9._~-] (URL path safe, no "/").
bool isValidToken(std::string_view token);

std::string annotationsJson(const AnnotationList& list);

class PodRegistry {
 public:
  // Throws Error{kInvalid} if the UUID or the token is registered already.
  std::shared_ptr<const Pod> add(Pod pod);
  void remove(const appc::Uuid& uuid);
  std::shared_ptr<const Pod> findByToken(std::string_view token) const;
  size_t size() const { return byUuid_.size(); }

 private:
  std::map<appc::Uuid, std::shared_ptr<const Pod>> byUuid_;
  std::map<std::string, std::shared_ptr<const Pod>, std::less<>> byToken_;
};

}  // namespace ferry::mds
