// The stage1 ABI client (stage1/ABI.md §4): find a stage1, read its descriptor, run its
// entrypoints.
//
// A stage1 is a directory holding stage1.json. stage0 never assumes anything about a flavor
// beyond that descriptor: what it supports is asked through its features (net modes,
// interactive, mds), never guessed from its name. Every entrypoint runs with the pod directory
// as its working directory; `run` replaces the calling process (it keeps the pod's lock fd, so
// the lock lives exactly as long as the pod), the others are waited for.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage0/pod/pods.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/descriptor.hpp"

namespace ferry::pod {

inline constexpr int kStage1InterfaceVersion = stage1::kInterfaceVersion;
inline constexpr std::string_view kDefaultStage1 = "ns";

class Stage1 {
 public:
  // Reads and checks dir/stage1.json (interfaceVersion, entrypoints run and gc at least, every
  // entrypoint an executable file inside dir). Errors name the file and the field.
  static Stage1 load(const std::filesystem::path& dir);

  // Where stage1s are looked up by name: <dir of the ferry binary>/../libexec/ferry/stage1/<name>
  // (the build tree: build/stage0/ferry → build/libexec/ferry/stage1/<name>; an install:
  // /usr/bin/ferry → /usr/libexec/ferry/stage1/<name>), then <dir>/../lib/ferry/stage1/<name>.
  // --stage1-path wins over both.
  static Stage1 resolve(const std::optional<std::filesystem::path>& path,
                        const std::optional<std::string>& name);
  static std::vector<std::filesystem::path> searchDirs();
  // The stage1 installed beside ferry under that name (searchDirs), if any.
  static std::optional<Stage1> findInstalled(std::string_view name);
  // Where the build and an install put the stage1 images (ACIs) of the flavors they ship:
  // <dir of the ferry binary>/../libexec/ferry/stage1-images, then …/lib/ferry/stage1-images
  // (--stage1-from-dir; files there are as trusted as ferry itself).
  static std::vector<std::filesystem::path> imageDirs();
  // A stage1 image rendered by the store: its tree (trees/<key>/rootfs) is the stage1
  // directory. Errors say the image is not a stage1.
  static Stage1 fromImage(const std::filesystem::path& rootfs, const std::string& imageId);

  const std::filesystem::path& dir() const { return d_.dir; }
  const std::string& name() const { return d_.name; }
  int interfaceVersion() const { return d_.interfaceVersion; }
  const json::Json& features() const { return d_.features; }
  const stage1::Descriptor& descriptor() const { return d_; }
  // The store's image ID when the stage1 came from an image (fromImage).
  const std::optional<std::string>& image() const { return image_; }

  bool hasEntrypoint(std::string_view name) const;
  // The name it is found by in searchDirs() when it is installed there (its directory's name).
  std::optional<std::string> installedName() const;
  // sha256 over what stat says of stage1.json and every entrypoint file (device, inode, mode,
  // size, mtime, ctime): what a --stage1-path stage1 is recognised by (recordPodStage1).
  std::string identity() const;

  // Error{kUnsupported} when the stage1 does not provide it.
  std::filesystem::path entrypoint(std::string_view name) const;

  // Features (ABI §4). Absent means unsupported.
  bool supportsNet(std::string_view mode) const;
  bool supportsInteractive() const;
  bool supportsMds() const;
  // "privateUsers": true — it runs a pod in a user namespace (docs/private-users.md).
  bool supportsPrivateUsers() const;
  // "root": true — its run entrypoint needs root (namespaces, cgroups, mounts).
  bool needsRoot() const;
  // Error{kUnsupported} naming the stage1 when it needs root and ferry is not running as root:
  // said before a pod is created or started, so nothing is left behind.
  void checkCanRun() const;

 private:
  friend Stage1 podStage1(const Pod& pod);
  stage1::Descriptor d_;  // stage1/common/descriptor.hpp
  std::optional<std::string> image_;
};

// Which stage1 a pod was prepared with, in the pod directory's file "stage1-ref" (stage0's
// own, 0600; ABI §1). stage0 never follows the pod's `stage1` link to run an entrypoint: a
// link anyone could repoint would get its target run as root by the next gc. The record says
//   {"name":"ns"}                            a stage1 installed beside ferry (searchDirs), found
//                                            there again by name (an upgrade's stage1 is used)
//   {"path":"/abs/dir","identity":"sha256:…"} a --stage1-path one: used only while its
//                                            stage1.json and entrypoint files are the very
//                                            files they were, unchanged (Stage1::identity)
//   {"image":"sha512-…","path":"/abs/cas/trees/<key>/rootfs","identity":"sha256:…"}
//                                            a stage1 image: its tree in the store, by path and
//                                            identity as above (`image` says where it came from)
void recordPodStage1(const Stage1& s1, const std::filesystem::path& podDir, Sync sync);

// The directory a pod's stage1-ref names by path (none for an installed stage1): what image gc
// keeps for the pod when it is a tree of the store.
std::optional<std::filesystem::path> recordedStage1Path(const std::filesystem::path& podDir);

// The stage1 of an existing pod, from its stage1-ref (a pod of an older ferry, which has none:
// its `stage1` link, only when that is an installed stage1). Error{kNotFound} when the stage1
// is gone; Error{kInvalid}, one line, when it is not the one the pod was prepared with.
Stage1 podStage1(const Pod& pod);

// `run --uuid U --lock-fd N [--debug]` in the pod directory, replacing this process.
[[noreturn]] void execRun(const Stage1& s1, const Pod& pod, PodLock& lock, bool debug);

// Runs an entrypoint in the pod directory and waits; returns its exit status (128 + signal when
// killed). args follow the entrypoint's path.
int runEntrypoint(const Stage1& s1, std::string_view entry, const Pod& pod,
                  const std::vector<std::string>& args);
// Replaces this process with the entrypoint (enter: the user's terminal goes to the command).
[[noreturn]] void execEntrypoint(const Stage1& s1, std::string_view entry, const Pod& pod,
                                 const std::vector<std::string>& args);

// PodCleaner through the pod's stage1 `gc` entrypoint; when the pod's stage1 cannot be used any
// more (its directory is gone), the mounts below the pod directory are detached directly.
class Stage1Cleaner : public PodCleaner {
 public:
  explicit Stage1Cleaner(bool debug) : debug_(debug) {}
  void cleanup(const Pod& pod) override;

 private:
  bool debug_;
};

}  // namespace ferry::pod
