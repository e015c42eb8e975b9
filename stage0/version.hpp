// Versions ferry reports and writes into the documents it produces.
#pragma once

#include <string>

namespace ferry {

struct VersionInfo {
  std::string ferry;
  std::string appcSpec;        // acVersion written into appc manifests
  std::string ociImageSpec;    // image-spec we read and write (1.0-compatible layouts)
  std::string ociRuntimeSpec;  // ociVersion written into config.json
  int stage1Interface;
  std::string commit;     // git describe of the source tree at build time ("unknown" outside git)
  std::string buildType;  // CMAKE_BUILD_TYPE
  std::string toJson() const;
};

const VersionInfo& versionInfo();
// Defined in the build tree's commit.cpp (cmake/commit.cmake).
const char* buildCommit();

}  // namespace ferry
