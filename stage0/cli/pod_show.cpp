// `ferry cat-manifest` and `ferry logs`: a pod's reified manifest and its apps' output.
#include <fstream>
#include <iostream>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/pod/info.hpp"

namespace ferry::cli {

int catManifestCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry cat-manifest [--pretty-print=false] UUID",
                 "Print a pod's reified appc pod manifest.");
  addGlobalOptions(p, ctx.global);
  bool pretty = true;
  p.flag("pretty-print", "indent the JSON (default true)", &pretty);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  std::filesystem::path f = pd.path / "pod";
  std::error_code ec;
  if (!std::filesystem::exists(f, ec)) {
    throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no manifest yet (it is " +
                                     std::string(pod::stateName(pd.state())) + ")");
  }
  json::Json j = json::parse(readFile(f, 16 << 20), f.string());
  ctx.out << json::dump(j, pretty) << "\n";
  return kExitOk;
}

int logsCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry logs [--app NAME] UUID",
                 "Print what a pod's apps wrote to stdout and stderr.",
                 "With several apps and no --app, each line is prefixed by [app].");
  addGlobalOptions(p, ctx.global);
  std::string app;
  p.value("app", "NAME", "only this app", &app);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  pod::PodInfo info = pod::inspect(pd);
  std::vector<std::string> names;
  for (const auto& a : info.apps) {
    if (app.empty() || a.name == app) names.push_back(a.name);
  }
  if (!app.empty() && names.empty()) {
    throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no app " + quote(app));
  }
  bool prefix = names.size() > 1;
  for (const auto& n : names) {
    std::filesystem::path f = pd.path / "logs" / (n + ".log");
    std::ifstream in(f, std::ios::binary);
    if (!in) continue;  // nothing logged (yet), or interactive
    if (!prefix) {
      ctx.out << in.rdbuf();
      continue;
    }
    std::string line;
    while (std::getline(in, line)) ctx.out << "[" << n << "] " << line << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
