#include "stage0/fetch/image_arg.hpp"

#include "common/digest.hpp"
#include "common/error.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {
bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool endsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
}  // namespace

ImageArg parseImageArg(std::string_view arg) {
  if (arg.empty()) throw Error(Errc::kInvalid, "empty image name");
  if (startsWith(arg, "docker://")) return DockerArg{std::string(arg.substr(9))};
  // skopeo's oci-archive:FILE[:REF] is what oci:FILE[:REF] fetches (a directory or a tar).
  bool ociArchive = startsWith(arg, "oci-archive:");
  if (startsWith(arg, "docker-archive:")) {
    throw Error(Errc::kUnsupported,
                "not supported: docker-archive: (docker save tarballs); convert one with "
                "'skopeo copy docker-archive:FILE oci-archive:OUT.tar' and fetch oci:OUT.tar");
  }
  if (startsWith(arg, "oci:") || ociArchive) {
    std::string_view rest = arg.substr(ociArchive ? 12 : 4);
    OciLayoutArg o;
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
      o.dir = std::string(rest.substr(0, colon));
      if (colon + 1 < rest.size()) o.ref = std::string(rest.substr(colon + 1));
    } else {
      o.dir = std::string(rest);
    }
    if (o.dir.empty()) throw Error(Errc::kInvalid, "oci: image without a directory");
    std::error_code ec;
    if (ociArchive && fs::is_directory(o.dir, ec)) {
      throw Error(Errc::kInvalid, "cannot fetch " + quote(arg) + ": " + quote(o.dir.string()) +
                                      " is a directory, not an archive; a layout directory is "
                                      "named oci:" +
                                      o.dir.string());
    }
    return o;
  }
  if (startsWith(arg, "https://") || startsWith(arg, "http://")) return UrlArg{std::string(arg)};
  if (startsWith(arg, "sha512-") || startsWith(arg, "sha256:")) {
    std::string_view hex = arg.substr(7);
    if (hex.size() >= 8 && isLowerHex(hex)) return StoreIdArg{std::string(arg)};
    // Never an appc name for discovery ("Could not resolve host: sha512-0000").
    throw Error(Errc::kInvalid, "not an image ID: " + quote(arg) +
                                    " (an ID or ID prefix is sha512- or sha256: and at least 8 "
                                    "lowercase hex digits)");
  }
  std::error_code ec;
  if (fs::is_directory(fs::path(arg), ec)) {
    throw Error(Errc::kInvalid,
                "cannot fetch " + quote(arg) +
                    ": a directory; an OCI layout is named oci:" + std::string(arg));
  }
  if (startsWith(arg, "/") || startsWith(arg, "./") || startsWith(arg, "../") ||
      endsWith(arg, ".aci") || fs::is_regular_file(fs::path(arg), ec)) {
    return LocalAciArg{fs::path(arg)};
  }
  // host:port/repo… is no appc name (':' only separates a version): a registry image.
  if (auto slash = arg.find('/');
      slash != std::string_view::npos && arg.substr(0, slash).find(':') != std::string_view::npos) {
    throw Error(Errc::kInvalid, "cannot parse image " + quote(arg) +
                                    ": a registry image is named docker://" + std::string(arg));
  }
  return AppcNameArg{std::string(arg)};
}

std::string describe(const ImageArg& arg) {
  return std::visit(
      [](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, DockerArg>) return "docker://" + a.ref;
        if constexpr (std::is_same_v<T, OciLayoutArg>) {
          return "oci:" + a.dir.string() + (a.ref ? ":" + *a.ref : "");
        }
        if constexpr (std::is_same_v<T, UrlArg>) return a.url;
        if constexpr (std::is_same_v<T, LocalAciArg>) return a.path.string();
        if constexpr (std::is_same_v<T, StoreIdArg>) return a.id;
        if constexpr (std::is_same_v<T, AppcNameArg>) return a.text;
      },
      arg);
}

}  // namespace ferry::fetch
