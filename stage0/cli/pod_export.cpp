// `ferry export [--app NAME] UUID [APP] OUT.aci` (rkt export): an exited pod's app as an ACI.
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/image/pod_export.hpp"
#include "stage0/pod/pods.hpp"

namespace ferry::cli {

int exportCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "ferry export [--app NAME] [--overwrite] --uuid-file=FILE | UUID [APP] OUT.aci";
  OptionParser p(usage,
                 "Write an app of an exited pod as an ACI: its image manifest and its root\n"
                 "filesystem as the pod left it.",
                 "The app is named by --app or as the second argument (needed when the pod has\n"
                 "several). `actool validate OUT.aci` accepts the result; `ferry fetch` takes it\n"
                 "with --insecure-options=image (it is not signed).");
  addGlobalOptions(p, ctx.global);
  std::string app;
  p.value("app", "NAME", "the app to export", &app);
  bool overwrite = false;
  p.flag("overwrite", "replace an existing OUT.aci", &overwrite);
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(1, 3);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (uuidFile.path) {  // the pod from the file, then [APP] OUT.aci
    if (pos.size() > 2) throw UsageError("too many arguments; usage: " + usage);
    pos.insert(pos.begin(), uuidFile.podRefs({}, usage).front());
  } else if (pos.size() < 2) {
    throw UsageError("want UUID [APP] OUT.aci; usage: " + usage);
  }
  if (pos.size() == 3) {
    if (!app.empty() && app != pos[1]) {
      throw UsageError("the app is named twice: --app " + quote(app) + " and " + quote(pos[1]));
    }
    app = pos[1];
  }
  if (!podsExist(ctx.global)) throwNoSuch(ctx.global, "pod", pos[0]);
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  image::PodExportResult r = image::exportPodApp(pd, {app, pos.back(), overwrite});
  if (ctx.global.json()) {
    ctx.out << json::print({{"pod", pd.uuid}, {"app", r.app}, {"file", pos.back()}, {"id", r.id}},
                           true)
            << "\n";
  } else {
    ctx.out << pos.back() << " " << r.id << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
