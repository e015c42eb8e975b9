// OCI image config → appc image manifest.
//
// Pure: no I/O; the caller supplies the rendered image's /etc/passwd and /etc/group (to resolve
// User) and the name and version the image is known by. Entrypoint + Cmd → exec, User →
// user/group, Env → environment, WorkingDir, Volumes → mountPoints, ExposedPorts → ports,
// Labels → annotations, created/author → annotations, platform → os/arch labels. What appc
// cannot express is kept in dev.ferry.oci.* annotations (keys.hpp) so that aciToOci restores
// it, and reported. dev.ferry.appc.* labels left by aciToOci are consumed and restored.
#pragma once

#include <optional>
#include <string>

#include "formats/appc/image_manifest.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/translate/report.hpp"

namespace ferry::translate {

struct AciIdentity {
  std::string name;                    // an AC Identifier (checked)
  std::optional<std::string> version;  // the "version" label, e.g. the tag
  bool nameFromUser = false;           // true: overrides a name kept by an earlier translation
};

struct UserDatabase {
  std::optional<std::string> passwd;  // contents of the image's /etc/passwd, if any
  std::optional<std::string> group;   // contents of the image's /etc/group, if any
};

appc::ImageManifest ociToAci(const oci::ImageConfig& config, const AciIdentity& identity,
                             const UserDatabase& users, Report& report);

// Helpers shared with tests: a passwd/group lookup by name (nullopt when absent).
struct PasswdEntry {
  std::string name;
  uint32_t uid;
  uint32_t gid;
  std::string home;  // "" when the line has none
};
std::optional<PasswdEntry> lookupUser(std::string_view passwd, std::string_view nameOrUid);
std::optional<uint32_t> lookupGroup(std::string_view group, std::string_view name);

}  // namespace ferry::translate
