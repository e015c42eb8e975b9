// `ferry image rm | gc | verify`: thin wrappers over the store.
#include <chrono>
#include <iostream>

#include "stage0/cli/command.hpp"
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
}  // namespace

int imageRmCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image rm IMAGE-ID...",
                 "Remove images from the store's index (their blobs go at the next image gc).");
  addGlobalOptions(p, ctx.global);
  p.positionals(1, -1);
  auto ids = p.parse(args);
  if (p.helpRequested()) {
    ctx.out << p.helpText();
    return kExitOk;
  }
  store::Store store = store::Store::open(ctx.global.dir);
  int status = kExitOk;
  for (const auto& id : ids) {
    auto r = store.findImage(id);
    if (!r || !store.removeImage(r->id)) {
      ctx.err << "ferry: no image " << quote(id) << " in the store\n";
      status = kExitError;
      continue;
    }
    ctx.out << "removed " << r->id << "\n";
  }
  return status;
}

int imageGcCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image gc [--grace-period=DURATION]",
                 "Remove blobs and rendered trees no image uses, and stale temporary files.");
  addGlobalOptions(p, ctx.global);
  std::string grace = "24h";
  p.value("grace-period", "DURATION", "keep unused things younger than this (24h; s, m, h, d)",
          &grace);
  p.positionals(0, 0);
  p.parse(args);
  if (p.helpRequested()) {
    ctx.out << p.helpText();
    return kExitOk;
  }
  store::Store store = store::Store::open(ctx.global.dir);
  auto s = store.gc(parseDuration(grace));
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
  p.parse(args);
  if (p.helpRequested()) {
    ctx.out << p.helpText();
    return kExitOk;
  }
  store::Store store = store::Store::open(ctx.global.dir);
  auto problems = store.verify();
  for (const auto& line : problems) ctx.out << line << "\n";
  if (!problems.empty()) {
    ctx.err << "ferry: the store has " << problems.size() << " problem(s)\n";
    return kExitError;
  }
  ctx.out << "store is clean\n";
  return kExitOk;
}

}  // namespace ferry::cli
