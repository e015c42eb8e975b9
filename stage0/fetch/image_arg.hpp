// What a user may name as an image on the command line (DESIGN §2), as a closed set.
//
//   docker://[registry/]repo[:tag|@digest]   DockerArg
//   oci:DIR[:REF], oci:FILE.tar[:REF]         OciLayoutArg (a directory or a tar of one)
//   https://…/x.aci, http://…/x.aci           UrlArg
//   ./x.aci, /path/x.aci (an existing file)   LocalAciArg
//   sha512-…, sha256:… (in the store)         StoreIdArg
//   example.com/app:1.0,os=linux              AppcNameArg (appc discovery)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace ferry::fetch {

struct DockerArg {
  std::string ref;  // without "docker://"
};
struct OciLayoutArg {
  std::filesystem::path dir;  // or a tar archive of a layout
  std::optional<std::string> ref;
};
struct UrlArg {
  std::string url;
};
struct LocalAciArg {
  std::filesystem::path path;
};
struct StoreIdArg {
  std::string id;
};
struct AppcNameArg {
  std::string text;
};
using ImageArg =
    std::variant<DockerArg, OciLayoutArg, UrlArg, LocalAciArg, StoreIdArg, AppcNameArg>;

ImageArg parseImageArg(std::string_view arg);
std::string describe(const ImageArg& arg);

}  // namespace ferry::fetch
