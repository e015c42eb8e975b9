// `ferry image rm | gc | verify`: thin wrappers over the store.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <set>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/image_ref.hpp"
#include "stage0/pod/pods.hpp"
#include "stage0/pod/runtime_options.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/store/store.hpp"

namespace ferry::cli {

namespace {
std::chrono::seconds parseDuration(std::string_view v) {
  if (v.empty()) throw UsageError("--grace-period: empty duration");
  char unit = v.back();
  std::string_view digits = (unit >= '0' && unit <= '9') ? v : v.substr(0, v.size() - 1);
  long n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') throw UsageError("--grace-period: not a duration: " + quote(v));
    n = n * 10 + (c - '0');
  }
  switch (unit) {
    case 'h':
      return std::chrono::hours(n);
    case 'm':
      return std::chrono::minutes(n);
    case 'd':
      return std::chrono::hours(24 * n);
    case 's':
    default:
      return std::chrono::seconds(n);
  }
}

// The trees pods still use: apps[].tree (and the stage1's tree) of every pod directory that has
// a runtime.json, in any
// state (a prepared pod runs later; an exited one can be inspected until `ferry gc` or `ferry rm`
// removes it). Called under the store's exclusive lock: a ferry prepare holds it shared from
// rendering the tree until runtime.json is written. States are listed in their forward order,
// so a pod moving on while we list is still seen.
std::vector<std::filesystem::path> treesOfPods(const std::filesystem::path& dataDir,
                                               std::ostream& err,
                                               std::set<std::string>* images = nullptr) {
  std::vector<std::filesystem::path> trees;
  for (const pod::Pod& p : pod::Pods(dataDir).list()) {
    std::error_code ec;
    if (!std::filesystem::exists(p.path / "runtime.json", ec)) continue;
    try {
      for (const auto& a : pod::RuntimeOptions::read(p.path).apps) {
        trees.emplace_back(a.tree);
        if (images != nullptr) images->insert(a.image);
      }
      // A stage1 image's tree, which the pod's gc, stop and enter run.
      if (auto s1 = pod::recordedStage1Path(p.path)) trees.push_back(*s1);
    } catch (const std::exception& e) {
      // Gone (the pod was deleted meanwhile) or unreadable: such a pod cannot run.
      if (std::filesystem::exists(p.path / "runtime.json", ec)) {
        err << "ferry: warning: pod " << p.uuid << ": " << e.what() << "\n";
      }
    }
  }
  return trees;
}
}  // namespace

int imageRmCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image rm IMAGE...",
                 "Remove images from the store's index (their blobs go at the next image gc).");
  addGlobalOptions(p, ctx.global);
  p.positionals(1, -1);
  std::vector<std::string> ids;
  if (!p.parseOrHelp(args, ctx.out, &ids)) return kExitOk;
  store::Store store = store::Store::open(ctx.global.dir);
  int status = kExitOk;
  for (const auto& id : ids) {
    std::optional<store::ImageRecord> r;
    try {
      r = findStoredImage(store, id);
    } catch (const Error& e) {
      ctx.err << "ferry: " << describe(e, ctx.global.debug) << "\n";
      status = kExitError;
      continue;
    }
    if (!store.removeImage(r->id)) {
      ctx.err << "ferry: no image " << quote(id) << " in the store\n";
      status = kExitError;
      continue;
    }
    ctx.out << "removed " << r->id << "\n";
  }
  return status;
}

int imageGcCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image gc [--grace-period=DURATION] [--blobs-only]",
                 "Remove images unused for longer than the grace period (as rkt does), then\n"
                 "blobs and rendered trees no image uses, and stale temporary files.",
                 "An image is used when it is fetched or run (image list's LAST USED, else\n"
                 "IMPORTED); images of pods (in any state, until the pod is removed) and their\n"
                 "trees stay. Temporary files of fetches that were killed go at once, whatever\n"
                 "the grace period.");
  addGlobalOptions(p, ctx.global);
  std::string grace = "24h";
  p.value("grace-period", "DURATION",
          "remove images unused, and blobs and trees unreferenced, for longer than this (24h; s, "
          "m, h, d)",
          &grace);
  bool blobsOnly = false;
  p.flag("blobs-only", "remove no image: only blobs, trees and temporary files nothing uses",
         &blobsOnly);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  std::chrono::seconds gracePeriod = parseDuration(grace);
  store::Store store = store::Store::open(ctx.global.dir);
  // rkt's image gc: by age, the last use (a fetch or a run) or else the import.
  std::vector<std::string> imagesRemoved;
  if (!blobsOnly) {
    std::set<std::string> ofPods;
    std::vector<std::filesystem::path> trees = treesOfPods(ctx.global.dir, ctx.err, &ofPods);
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const store::ImageRecord& r : store.listImages()) {
      if (now - std::max(r.lastUsedAt, r.importedAt) < gracePeriod.count()) continue;
      if (ofPods.count(r.id) != 0) continue;
      std::optional<std::filesystem::path> tree = store.treePath(r.id);
      if (tree && std::find(trees.begin(), trees.end(), *tree) != trees.end()) continue;
      if (store.removeImage(r.id)) imagesRemoved.push_back(r.id);
    }
  }
  auto s = store.gc(gracePeriod, [&] { return treesOfPods(ctx.global.dir, ctx.err); });
  if (ctx.global.json()) {
    ctx.out << json::print({{"imagesRemoved", imagesRemoved},
                            {"blobsRemoved", s.blobsRemoved},
                            {"bytesFreed", s.bytesFreed},
                            {"treesRemoved", s.treesRemoved},
                            {"tempsRemoved", s.tempsRemoved}},
                           true)
            << "\n";
    return kExitOk;
  }
  for (const std::string& id : imagesRemoved) ctx.out << "removed image " << id << "\n";
  ctx.out << "removed " << s.blobsRemoved << " blobs (" << s.bytesFreed << " bytes), "
          << s.treesRemoved << " trees, " << s.tempsRemoved << " temporary files\n";
  return kExitOk;
}

int imageVerifyCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(
      "ferry image verify",
      "Re-hash every blob and rendered tree in the store; exit non-zero on any problem.");
  addGlobalOptions(p, ctx.global);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  store::Store store = store::Store::open(ctx.global.dir);
  auto problems = store.verify();
  if (ctx.global.json()) {
    ctx.out << json::print({{"clean", problems.empty()}, {"problems", problems}}, true) << "\n";
    return problems.empty() ? kExitOk : kExitError;
  }
  for (const auto& line : problems) ctx.out << line << "\n";
  if (!problems.empty()) {
    ctx.err << "ferry: the store has " << problems.size() << " problem(s)\n";
    return kExitError;
  }
  ctx.out << "store is clean\n";
  return kExitOk;
}

}  // namespace ferry::cli
