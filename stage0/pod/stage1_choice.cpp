#include "stage0/pod/stage1_choice.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

std::string_view flagName(Stage1Flag f) {
  switch (f) {
    case Stage1Flag::kName:
      return "stage1-name";
    case Stage1Flag::kPath:
      return "stage1-path";
    case Stage1Flag::kUrl:
      return "stage1-url";
    case Stage1Flag::kHash:
      return "stage1-hash";
    case Stage1Flag::kFromDir:
      return "stage1-from-dir";
  }
  return "stage1";
}

void chooseStage1(std::optional<Stage1Choice>& slot, Stage1Flag flag, std::string_view value) {
  std::string name = "--" + std::string(flagName(flag));
  if (slot) {
    if (slot->flag == flag) throw Error(Errc::kUsage, name + " given twice");
    throw Error(Errc::kUsage, "--" + std::string(flagName(slot->flag)) + " and " + name +
                                  " exclude each other: give one stage1");
  }
  if (value.empty()) throw Error(Errc::kUsage, name + ": empty value");
  slot = Stage1Choice{flag, std::string(value)};
}

// --- Resolution

namespace {

// A file of the stage1 images directory: shipped with ferry, as trusted as ferry.
bool inImageDirs(const fs::path& file, const std::vector<fs::path>& dirs) {
  std::error_code ec;
  fs::path parent = fs::canonical(file, ec).parent_path();
  if (ec) return false;
  for (const auto& d : dirs) {
    fs::path c = fs::canonical(d, ec);
    if (!ec && c == parent) return true;
  }
  return false;
}

class Chooser {
 public:
  Chooser(const fs::path& dataDir, const fetch::FetchOptions& fetch, const Stage1Config& configured,
          const std::optional<fs::path>& imagesDir)
      : dataDir_(dataDir),
        fetch_(fetch),
        configured_(configured),
        imageDirs_(imagesDir ? std::vector<fs::path>{*imagesDir} : Stage1::imageDirs()) {
    if (fetch_.policy != fetch::PullPolicy::kNever) fetch_.policy = fetch::PullPolicy::kNew;
  }

  ChosenStage1 image(const fetch::ImageArg& arg, bool trusted, fetch::PullPolicy policy) {
    ChosenStage1 out{Stage1(), store::Store::open(dataDir_), std::nullopt};
    out.hold.emplace(out.store->lockShared());
    fetch::FetchOptions o = fetch_;
    o.policy = std::min(o.policy, policy);
    if (trusted) o.insecureImage = true;
    const int64_t started = static_cast<int64_t>(std::time(nullptr));
    std::string id = fetch::fetchImage(*out.store, arg, o);
    try {
      store::TreeInfo tree = out.store->renderTree(id);
      out.stage1 = Stage1::fromImage(tree.rootfs, id);
    } catch (const Error& e) {
      // Not a stage1: an image this call brought in goes again (its blobs and tree at the next
      // image gc, as after `ferry image rm`).
      if (auto r = out.store->findImage(id); r && r->importedAt >= started) {
        out.store->removeImage(id);
      }
      throw Error(e.code(), "cannot use " + fetch::describe(arg) + " as the stage1: " + e.what());
    }
    return out;
  }

  // A path: a stage1 directory, or an image file.
  ChosenStage1 path(const fs::path& p, std::string_view label) {
    std::error_code ec;
    fs::path abs = fs::absolute(p);
    if (fs::is_directory(abs, ec)) return {Stage1::load(abs), std::nullopt, std::nullopt};
    if (!fs::is_regular_file(abs, ec)) {
      throw Error(Errc::kNotFound, std::string(label) + ": " + quote(p.string()) +
                                       " is neither a stage1 directory nor an image file");
    }
    return image(fetch::LocalAciArg{abs}, inImageDirs(abs, imageDirs_), fetch::PullPolicy::kNew);
  }

  ChosenStage1 url(std::string_view u, std::string_view label) {
    if (u.starts_with("file://")) return path(fs::path(u.substr(7)), label);
    fetch::ImageArg arg = fetch::parseImageArg(u);
    if (!u.starts_with("docker://") && !std::holds_alternative<fetch::UrlArg>(arg)) {
      throw Error(Errc::kUsage, std::string(label) + ": want an http://, https://, " +
                                    "file:// or docker:// URL, not " + quote(u));
    }
    return image(arg, false, fetch::PullPolicy::kNew);
  }

  // NAME[:VERSION]: installed (no version), else an image by name.
  ChosenStage1 name(std::string_view value, bool mayFetch) {
    auto colon = value.find(':');
    std::string n(value.substr(0, colon));
    if (colon == std::string_view::npos) {
      if (auto s1 = Stage1::findInstalled(n)) return {std::move(*s1), std::nullopt, std::nullopt};
    }
    // Discovery only for names that can be discovered (a domain); others only from the store.
    bool discoverable = n.find('.') != std::string::npos;
    auto policy = mayFetch && discoverable ? fetch::PullPolicy::kNew : fetch::PullPolicy::kNever;
    try {
      return image(fetch::AppcNameArg{std::string(value)}, false, policy);
    } catch (const Error& e) {
      if (e.code() != Errc::kNotFound || discoverable) throw;
      std::string looked;
      for (const auto& d : Stage1::searchDirs()) {
        looked += (looked.empty() ? "" : ", ") + quote((d / n).string());
      }
      throw Error(Errc::kNotFound, "no stage1 named " + quote(value) +
                                       ": none installed beside ferry (looked in " + looked +
                                       ") and no image of that name in the store");
    }
  }

  ChosenStage1 hash(std::string_view value) {
    fetch::ImageArg arg = fetch::parseImageArg(value);
    if (!std::holds_alternative<fetch::StoreIdArg>(arg)) {
      throw Error(Errc::kUsage,
                  "--stage1-hash: want an image ID (sha512-… or sha256:…), not " + quote(value));
    }
    {
      store::Store s = store::Store::open(dataDir_);
      if (!s.findImage(value)) {
        throw Error(Errc::kNotFound, "--stage1-hash: no image " + std::string(value) +
                                         " in the store (a stage1 hash is never fetched)");
      }
    }
    return image(arg, false, fetch::PullPolicy::kNever);
  }

  ChosenStage1 fromDir(std::string_view value) {
    if (value.find('/') != std::string_view::npos || value == "." || value == "..") {
      throw Error(Errc::kUsage, "--stage1-from-dir: want a file name of the stage1 images " +
                                    std::string("directory, not ") + quote(value));
    }
    std::string looked;
    for (const auto& d : imageDirs_) {
      std::error_code ec;
      if (fs::exists(d / value, ec)) return path(d / value, "--stage1-from-dir");
      looked += (looked.empty() ? "" : ", ") + quote(d.string());
    }
    throw Error(Errc::kNotFound, "--stage1-from-dir: no " + quote(value) +
                                     " in the stage1 images directory (" + looked + ")");
  }

  ChosenStage1 configured() {
    const Stage1Config& c = configured_;
    if (c.empty()) return {Stage1::resolve(std::nullopt, std::nullopt), std::nullopt, std::nullopt};
    if (c.name) {
      std::string ref = *c.name + (c.version ? ":" + *c.version : "");
      try {
        return name(ref, false);
      } catch (const Error& e) {
        if (e.code() != Errc::kNotFound || !c.location) throw;
      }
    }
    const std::string& loc = *c.location;
    if (loc.starts_with("/")) return path(loc, "the configured stage1 location");
    return url(loc, "the configured stage1 location");
  }

 private:
  fs::path dataDir_;
  fetch::FetchOptions fetch_;
  Stage1Config configured_;
  std::vector<fs::path> imageDirs_;
};

}  // namespace

ChosenStage1 chooseStage1(const std::optional<Stage1Choice>& choice, const fs::path& dataDir,
                          const fetch::FetchOptions& fetch, const Stage1Config& configured,
                          const std::optional<fs::path>& imagesDir) {
  Chooser c(dataDir, fetch, configured, imagesDir);
  if (!choice) return c.configured();
  switch (choice->flag) {
    case Stage1Flag::kName:
      return c.name(choice->value, true);
    case Stage1Flag::kPath:
      return c.path(choice->value, "--stage1-path");
    case Stage1Flag::kUrl:
      return c.url(choice->value, "--stage1-url");
    case Stage1Flag::kHash:
      return c.hash(choice->value);
    case Stage1Flag::kFromDir:
      return c.fromDir(choice->value);
  }
  return c.configured();
}

}  // namespace ferry::pod
