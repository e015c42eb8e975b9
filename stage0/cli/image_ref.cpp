#include "stage0/cli/image_ref.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "discovery/appc_image_ref.hpp"
#include "discovery/reference.hpp"
#include "stage0/fetch/image_arg.hpp"

namespace ferry::cli {

namespace fs = std::filesystem;

namespace {

bool isLowerHex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::optional<store::ImageRecord> byName(const store::Store& store, std::string_view ref) {
  fetch::ImageArg arg = fetch::parseImageArg(ref);
  if (const auto* d = std::get_if<fetch::DockerArg>(&arg)) {
    auto r = registry::DockerReference::parse(d->ref);
    if (r.digest()) return store.findImage(r.digest()->str());
    return store.findByName({r.name(), {}, r.tag()});
  }
  if (const auto* o = std::get_if<fetch::OciLayoutArg>(&arg)) {
    std::string dir = fs::absolute(o->dir).lexically_normal().string();
    if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return store.findByName({"oci:" + dir, {}, o->ref});
  }
  if (const auto* u = std::get_if<fetch::UrlArg>(&arg)) {
    if (auto remote = store.remote(u->url)) return store.findImage(remote->imageId);
    return std::nullopt;
  }
  if (const auto* n = std::get_if<fetch::AppcNameArg>(&arg)) {
    auto a = discovery::parseAppcImageRef(n->text);
    store::NameQuery q{a.name.str(), {}, {}};
    for (const auto& l : a.labels) q.labels.emplace_back(l.name.str(), l.value);
    return store.findByName(q);
  }
  return std::nullopt;  // a local ACI file, or an ID prefix findImage did not know
}

}  // namespace

store::ImageRecord findStoredImage(const store::Store& store, std::string_view ref) {
  if (ref.empty()) throw Error(Errc::kInvalid, "an empty image name");
  if (auto r = store.findImage(ref)) return *r;
  bool idLike = ref.starts_with("sha512-") || ref.starts_with("sha256:") || isLowerHex(ref);
  std::optional<store::ImageRecord> r;
  if (!idLike) {
    try {
      r = byName(store, ref);
    } catch (const Error& e) {
      // A registry name as 'image list' showed it before names carried docker://.
      if (ref.find("://") == std::string_view::npos && ref.find('/') != std::string_view::npos) {
        try {
          r = byName(store, "docker://" + std::string(ref));
        } catch (const Error&) {
        }
      }
      if (!r) throw Error(e.code(), "no image " + quote(ref) + " in the store: " + e.what());
    }
  }
  if (r) return *r;
  std::string hint;
  if (idLike) {
    hint = " (an ID prefix needs at least 8 hex digits)";
  } else if (ref.find("://") == std::string_view::npos && !ref.starts_with("oci:") &&
             ref.find('/') != std::string_view::npos) {
    hint = " (a registry image is named docker://" + std::string(ref) + ")";
  }
  throw Error(Errc::kNotFound, "no image " + quote(ref) + " in the store" + hint);
}

}  // namespace ferry::cli
