#include "stage0/convert/render.hpp"

#include <map>
#include <set>

#include "common/error.hpp"
#include "formats/archive/aci.hpp"

namespace ferry::convert {

namespace fs = std::filesystem;

namespace {

// Reads an ACI's manifest and ID (one pass through the whole archive).
RenderImage inspectAci(const fs::path& path) {
  struct Visitor : archive::AciVisitor {
    void manifest(const std::string&) override {}
    void entry(const archive::Entry&, archive::Reader&) override {}
  } v;
  archive::AciInfo info = archive::readAci(path, v);
  return {path, appc::ImageManifest::parse(info.manifest, "manifest of " + quote(path.string())),
          info.imageId, 0};
}

bool labelsMatch(const appc::Labels& want, const appc::Labels& have) {
  for (const auto& l : want) {
    auto v = have.get(l.name.str());
    if (!v || *v != l.value) return false;
  }
  return true;
}

std::set<std::string> whitelist(const appc::ImageManifest& m) {
  std::set<std::string> out;
  for (std::string_view p : m.pathWhitelist) {
    // Whitelist paths are absolute; entries are relative to rootfs.
    while (!p.empty() && p.front() == '/') p.remove_prefix(1);
    auto n = archive::normalizePath(p, /*allowRoot=*/true);
    if (n.error.empty()) out.insert(n.path);
  }
  return out;
}

}  // namespace

std::vector<RenderImage> resolveDependencies(const RenderImage& top,
                                             const std::vector<fs::path>& dirs) {
  std::vector<RenderImage> candidates;
  auto candidatesLoaded = false;
  auto find = [&](const appc::Dependency& dep) -> std::optional<RenderImage> {
    if (!candidatesLoaded) {
      candidatesLoaded = true;
      for (const auto& dir : dirs) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
          if (e.path().extension() == ".aci" && e.is_regular_file()) {
            candidates.push_back(inspectAci(e.path()));
          }
        }
        if (ec) throw std::system_error(ec, "cannot list " + quote(dir.string()));
      }
    }
    for (const auto& c : candidates) {
      bool match = dep.imageID ? c.id == dep.imageID->str()
                               : c.manifest.name == dep.imageName &&
                                     labelsMatch(dep.labels, c.manifest.labels);
      if (match && (!dep.imageID || c.manifest.name == dep.imageName)) return c;
    }
    return std::nullopt;
  };
  return resolveDependencies(top, find, "the dependency directories");
}

std::vector<RenderImage> resolveDependencies(const RenderImage& top, const FindDependencyFn& find,
                                             std::string_view where) {
  std::vector<RenderImage> order;
  std::vector<const RenderImage*> stack;
  std::function<void(const RenderImage&, int)> visit = [&](const RenderImage& img, int level) {
    for (const RenderImage* s : stack) {
      if (s->id == img.id) {
        std::string chain;
        for (const RenderImage* t : stack) chain += t->manifest.name.str() + " → ";
        throw Error(Errc::kInvalid, "cannot render " + quote(top.manifest.name.str()) +
                                        ": dependency cycle: " + chain + img.manifest.name.str());
      }
    }
    RenderImage self = img;
    self.level = level;
    order.push_back(self);
    stack.push_back(&img);
    const auto& deps = img.manifest.dependencies;
    for (auto it = deps.rbegin(); it != deps.rend(); ++it) {
      std::optional<RenderImage> found = find(*it);
      if (found && it->imageID && found->id != it->imageID->str()) found.reset();
      if (!found) {
        throw Error(Errc::kNotFound,
                    "cannot render " + quote(img.manifest.name.str()) + ": dependency " +
                        quote(it->imageName.str()) +
                        (it->imageID ? " (" + it->imageID->str().substr(0, 19) + "…)" : "") +
                        " not found in " + std::string(where));
      }
      visit(*found, level + 1);
    }
    stack.pop_back();
  };
  visit(top, 0);
  return order;
}

void renderImages(const std::vector<RenderImage>& images, const EmitFn& emit) {
  std::map<std::string, archive::Type> emitted;
  for (size_t i = 0; i < images.size(); ++i) {
    const RenderImage& img = images[i];
    std::set<std::string> own = whitelist(img.manifest);
    // The top-most whitelist among this image's ancestors filters everything it gives.
    std::optional<std::set<std::string>> branch;
    int level = img.level;
    for (size_t k = i + 1; k-- > 0;) {
      if (images[k].level < level) {
        if (!images[k].manifest.pathWhitelist.empty()) branch = whitelist(images[k].manifest);
        level = images[k].level;
      }
    }
    std::set<std::string> mine;  // paths this image gave, for its hardlinks
    struct Visitor : archive::AciVisitor {
      std::function<void(const archive::Entry&, archive::Reader&)> fn;
      void manifest(const std::string&) override {}
      void entry(const archive::Entry& e, archive::Reader& r) override { fn(e, r); }
    } v;
    v.fn = [&](const archive::Entry& e, archive::Reader& r) {
      if (e.type != archive::Type::kDir && !own.empty() && own.count(e.path) == 0) return;
      if (branch && branch->count(e.path) == 0) return;
      if (emitted.count(e.path) != 0) return;
      for (std::string_view p = archive::parentPath(e.path); !p.empty();
           p = archive::parentPath(p)) {
        auto it = emitted.find(std::string(p));
        if (it != emitted.end() && it->second != archive::Type::kDir) return;
      }
      if (e.type == archive::Type::kHardlink && mine.count(e.linkTarget) == 0) {
        throw Error(Errc::kUnsupported,
                    "not supported: hardlink " + quote(e.path) + " in " + quote(img.path.string()) +
                        " points at " + quote(e.linkTarget) + ", which a higher image replaces");
      }
      emitted.emplace(e.path, e.type);
      mine.insert(e.path);
      emit(e, r);
    };
    archive::AciInfo info = archive::readAci(img.path, v);
    if (info.imageId != img.id) {
      throw Error(Errc::kDigestMismatch, "cannot render " + quote(img.path.string()) +
                                             ": it changed while being read (ID " + info.imageId +
                                             ", expected " + img.id + ")");
    }
  }
}

}  // namespace ferry::convert
