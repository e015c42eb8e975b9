// Which stage1 a pod gets (rkt's --stage1-* flags and its stage1.d configuration).
//
// A stage1 is either a directory (installed beside ferry, or named with --stage1-path DIR) or an
// image: an ACI (or an OCI image) whose rootfs is a stage1 directory, fetched, signature-checked
// and stored like any image and rendered once by the tree store, whose tree is then the stage1
// directory. The flags, one at most (rkt's rule: they exclude each other):
//   --stage1-name=NAME[:VERSION]  a stage1 installed beside ferry under NAME (no VERSION), else an
//                                 image of that name in the store, else (a NAME with a domain)
//                                 fetched through appc discovery
//   --stage1-path=FILE.aci|DIR    an ACI file (its FILE.aci.asc checked) or a stage1 directory
//   --stage1-url=URL              http(s)://, file:// or docker:// (fetched as any image)
//   --stage1-hash=ID              an image already in the store (never fetched)
//   --stage1-from-dir=NAME        the file NAME in the stage1 images directory (Stage1::imageDirs)
// Without a flag the configuration decides (stage1Config below), and without one, the build:
// the installed `ns`. Images from the stage1 images directory are as trusted as ferry itself and
// need no signature (rkt's rule); every other image is checked as `ferry fetch` checks it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stage0/config/config.hpp"
#include "stage0/fetch/fetch.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/store/store.hpp"

namespace ferry::pod {

enum class Stage1Flag { kName, kPath, kUrl, kHash, kFromDir };
std::string_view flagName(Stage1Flag f);  // "stage1-name", …

struct Stage1Choice {
  Stage1Flag flag = Stage1Flag::kName;
  std::string value;
};

// Records one --stage1-* flag into slot: Error{kUsage} for an empty value, a flag given twice or
// a second one of the family.
void chooseStage1(std::optional<Stage1Choice>& slot, Stage1Flag flag, std::string_view value);

// The default stage1 from configuration (stage1.d: stage0/config/config.hpp).
using Stage1Config = config::Stage1Config;

// The chosen stage1. For an image, the store stays open and its lock held shared until this is
// destroyed: keep it until the pod's stage1-ref names the tree (image gc keeps recorded trees).
struct ChosenStage1 {
  Stage1 stage1;
  std::optional<store::Store> store;
  std::optional<store::LockHold> hold;
};

// fetch: the run's fetch options (--insecure-options, --dir); its pull policy never stays never,
// any other becomes new (rkt fetches a stage1 image once). configured: the default without a
// flag; imagesDir: the stage1 images directory from paths.d (nullopt: Stage1::imageDirs()).
ChosenStage1 chooseStage1(const std::optional<Stage1Choice>& choice,
                          const std::filesystem::path& dataDir, const fetch::FetchOptions& fetch,
                          const Stage1Config& configured = {},
                          const std::optional<std::filesystem::path>& imagesDir = std::nullopt);

}  // namespace ferry::pod
