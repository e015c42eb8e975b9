#include <iostream>

#include "common/json.hpp"
#include "stage0/bench/bench.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/version.hpp"

namespace ferry::cli {

namespace {

struct InstalledStage1 {
  std::string name, dir, error;
};

// The stage1s installed beside ferry (those `--stage1-name` finds), each with its directory, or
// why it cannot be used.
std::vector<InstalledStage1> installedStage1s() {
  std::vector<InstalledStage1> out;
  for (const auto& name : bench::installedStage1s()) {
    InstalledStage1 s{name, "", ""};
    try {
      auto found = pod::Stage1::findInstalled(name);
      if (found) s.dir = found->dir().string();
    } catch (const std::exception& e) {
      s.error = describe(e, false);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

void printVersion(Context& ctx) {
  const auto& v = versionInfo();
  auto stage1s = installedStage1s();
  if (ctx.global.json()) {
    json::Json j = json::parse(v.toJson(), "version");
    json::Json list = json::Json::array();
    for (const auto& s : stage1s) {
      json::Json o = {{"name", s.name}, {"dir", s.dir}};
      if (!s.error.empty()) o["error"] = s.error;
      list.push_back(o);
    }
    j["stage1s"] = list;
    ctx.out << json::print(j) << "\n";
    return;
  }
  ctx.out << "ferry version " << v.ferry << "\n"
          << "commit " << v.commit << "\n"
          << "build type " << v.buildType << "\n"
          << "appc spec version " << v.appcSpec << "\n"
          << "OCI image-spec version " << v.ociImageSpec << "\n"
          << "OCI runtime-spec version " << v.ociRuntimeSpec << "\n"
          << "stage1 interface version " << v.stage1Interface << "\n";
  if (stage1s.empty()) ctx.out << "stage1s: none installed beside ferry\n";
  for (const auto& s : stage1s) {
    ctx.out << "stage1 " << s.name << " "
            << (s.error.empty() ? s.dir : "(unusable: " + s.error + ")") << "\n";
  }
}

int versionCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry version",
                 "Print the versions of ferry, its commit and build type, the specs it implements "
                 "and the stage1s installed beside it.");
  addGlobalOptions(p, ctx.global);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  printVersion(ctx);
  return kExitOk;
}

}  // namespace ferry::cli
