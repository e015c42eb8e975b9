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

// --- Configuration

std::vector<fs::path> stage1ConfigDirs(const fs::path& dataDir) {
  return {"/etc/ferry/stage1.d", fs::absolute(dataDir) / "stage1.d"};
}

namespace {

// What chooses a stage1 that runs as root must be root's (or the caller's) alone.
void checkOwner(const struct stat& st, const fs::path& p) {
  uid_t euid = ::geteuid();
  if ((st.st_uid != 0 && st.st_uid != euid) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(Errc::kSecurity, "cannot use the stage1 configuration " + quote(p.string()) +
                                     ": it is writable by others than root");
  }
}

struct DirConfig {
  Stage1Config values;
  fs::path nameFile, locationFile;
};

DirConfig readDir(const fs::path& dir) {
  DirConfig out;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    // EACCES: a user who cannot reach the directory (not root: no stage1 that needs root runs
    // for it anyway) has no configuration there.
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return out;
    throwErrno("stat " + quote(dir.string()));
  }
  if (!S_ISDIR(st.st_mode)) return out;
  checkOwner(st, dir);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
      if (errno == ELOOP) {
        throw Error(Errc::kSecurity,
                    "cannot use the stage1 configuration " + quote(f.string()) + ": a symlink");
      }
      throwErrno("open " + quote(f.string()));
    }
    if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(f.string()));
    if (!S_ISREG(st.st_mode)) continue;
    checkOwner(st, f);
    std::string text(64 << 10, '\0');
    text.resize(readFull(fd.get(), text.data(), text.size(), f.string()));
    if (text.size() == 64 << 10) {
      throw Error(Errc::kLimit,
                  "invalid stage1 configuration " + quote(f.string()) + ": too large");
    }
    json::Json j = json::parse(text, f.string());
    std::string what = quote(f.string());
    try {
      json::asObject(j, "");
      for (const auto& [k, v] : j.items()) {
        if (k != "ferryKind" && k != "ferryVersion" && k != "name" && k != "version" &&
            k != "location") {
          json::fail(k, "unknown field");
        }
        json::asString(v, k);
      }
      if (!j.contains("ferryKind") || j["ferryKind"] != "stage1") {
        json::fail("ferryKind", "want \"stage1\"");
      }
      if (!j.contains("ferryVersion") || j["ferryVersion"] != "v1") {
        json::fail("ferryVersion", "want \"v1\"");
      }
      if (j.contains("version") && !j.contains("name")) json::fail("version", "without a name");
      if (j.contains("name")) {
        if (!out.nameFile.empty()) {
          json::fail("name", "also set by " + quote(out.nameFile.string()));
        }
        out.nameFile = f;
        out.values.name = j["name"].get<std::string>();
        if (out.values.name->empty()) json::fail("name", "empty");
        if (j.contains("version")) out.values.version = j["version"].get<std::string>();
      }
      if (j.contains("location")) {
        if (!out.locationFile.empty()) {
          json::fail("location", "also set by " + quote(out.locationFile.string()));
        }
        out.locationFile = f;
        out.values.location = j["location"].get<std::string>();
        if (out.values.location->empty()) json::fail("location", "empty");
      }
    } catch (const Error& e) {
      throw Error(e.code(), "invalid stage1 configuration " + what + ": " + e.what());
    }
  }
  return out;
}

}  // namespace

Stage1Config readStage1Config(const std::vector<fs::path>& dirs) {
  Stage1Config c;
  for (const auto& d : dirs) {
    DirConfig dc = readDir(d);
    if (dc.values.name) {
      c.name = dc.values.name;
      c.version = dc.values.version;
    }
    if (dc.values.location) c.location = dc.values.location;
  }
  return c;
}

// --- Resolution

namespace {

// A file of the stage1 images directory: shipped with ferry, as trusted as ferry.
bool inImageDirs(const fs::path& file) {
  std::error_code ec;
  fs::path parent = fs::canonical(file, ec).parent_path();
  if (ec) return false;
  for (const auto& d : Stage1::imageDirs()) {
    fs::path c = fs::canonical(d, ec);
    if (!ec && c == parent) return true;
  }
  return false;
}

class Chooser {
 public:
  Chooser(const fs::path& dataDir, const fetch::FetchOptions& fetch)
      : dataDir_(dataDir), fetch_(fetch) {
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
    return image(fetch::LocalAciArg{abs}, inImageDirs(abs), fetch::PullPolicy::kNew);
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
    for (const auto& d : Stage1::imageDirs()) {
      std::error_code ec;
      if (fs::exists(d / value, ec)) return path(d / value, "--stage1-from-dir");
      looked += (looked.empty() ? "" : ", ") + quote(d.string());
    }
    throw Error(Errc::kNotFound, "--stage1-from-dir: no " + quote(value) +
                                     " in the stage1 images directory (" + looked + ")");
  }

  ChosenStage1 configured() {
    Stage1Config c = readStage1Config(stage1ConfigDirs(dataDir_));
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
};

}  // namespace

ChosenStage1 chooseStage1(const std::optional<Stage1Choice>& choice, const fs::path& dataDir,
                          const fetch::FetchOptions& fetch) {
  Chooser c(dataDir, fetch);
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
