// `ferry image convert`: an image from one format and place to another.
//
// A Location is an ACI file or an oci-layout directory with an optional ref. The conversion
// streams: ACI → OCI reads the ACI once and writes one gzip layer while hashing it (the appc
// dependencies, when the manifest has any, are found in local directories and rendered in
// spec order with pathWhitelist); OCI → ACI flattens the layers top to bottom (whiteouts
// applied) straight into the ACI. The translators in formats/translate map the manifests; their
// loss reports come back in Result. On any error the destination is left as it was.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "formats/archive/compression.hpp"
#include "formats/translate/report.hpp"

namespace ferry::convert {

struct AciFile {
  std::filesystem::path path;
};
struct OciLayoutRef {
  std::filesystem::path dir;
  std::optional<std::string> ref;
};
using Location = std::variant<AciFile, OciLayoutRef>;

// "oci:DIR[:REF]" is a layout; anything else is an ACI file path. Throws Error{kInvalid}.
Location parseLocation(std::string_view arg);
std::string describe(const Location& loc);

enum class Format { kAci, kOci };

struct Options {
  Location source;
  Location destination;
  archive::Compression compression = archive::Compression::kGzip;
  int level = 0;                         // 0: the compressor's default
  std::optional<std::string> name = {};  // the ACI's name (OCI → ACI); default from the source
  std::vector<std::filesystem::path> dependencyDirs = {};  // where appc dependencies are looked up
};

struct Result {
  std::string destination;  // as the user would write it
  std::string id;           // ACI: "sha512-…"; OCI: the manifest digest "sha256:…"
  translate::Report report;
};

Result convertImage(const Options& options);

}  // namespace ferry::convert
