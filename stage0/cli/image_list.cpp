#include <ctime>
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/table.hpp"
#include "stage0/store/store.hpp"

namespace ferry::cli {

namespace {
std::string isoTime(int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}
std::string humanSize(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}
}  // namespace

int imageListCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image list [flags]", "List the images in the store.",
                 "NAME is the newest name the image was fetched under, as 'ferry run' takes it\n"
                 "(docker://REPO:TAG, oci:DIR:REF, NAME:VERSION); --format=json lists them all.");
  addGlobalOptions(p, ctx.global);
  bool noLegend = false;
  p.flag("no-legend", "print no header line", &noLegend);
  bool quiet = false;
  p.flag("quiet", "print only the images' IDs (full), one a line", &quiet);
  p.flag("q", "the same as --quiet", &quiet);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  std::vector<store::ImageRecord> images;
  if (storeExists(ctx.global)) images = store::Store::open(ctx.global.dir).listImages();
  if (ctx.global.json()) {
    json::Json out = json::Json::array();
    for (const auto& r : images) {
      json::Json labels = json::Json::object();
      for (const auto& [k, v] : r.labels) labels[k] = v;
      json::Json names = json::Json::array();
      for (const auto& n : r.names) {
        names.push_back({{"name", n.name}, {"tag", n.tag}, {"ref", store::displayName(r, n)}});
      }
      out.push_back({{"id", r.id},
                     {"kind", store::kindName(r.kind)},
                     {"name", r.name},
                     {"ref", store::displayName(r)},
                     {"labels", labels},
                     {"tags", r.tags},
                     {"names", names},
                     {"size", r.size},
                     {"importedAt", isoTime(r.importedAt)},
                     {"lastUsedAt", isoTime(r.lastUsedAt)}});
    }
    ctx.out << json::dump(out, true) << "\n";
    return kExitOk;
  }
  if (quiet) {
    for (const auto& r : images) ctx.out << r.id << "\n";
    return kExitOk;
  }
  Table table({"ID", "KIND", "NAME", "LABELS/TAGS", "SIZE", "IMPORTED", "LAST USED"});
  for (const auto& r : images) {
    std::string tags;
    for (const auto& [k, v] : r.labels) tags += (tags.empty() ? "" : ",") + k + "=" + v;
    for (const auto& t : r.tags) tags += (tags.empty() ? "" : ",") + t;
    std::string id = r.id.substr(0, r.id.find_first_of("-:") + 1 + 12);
    table.add({id, std::string(store::kindName(r.kind)), store::displayName(r), tags,
               humanSize(r.size), isoTime(r.importedAt), isoTime(r.lastUsedAt)});
  }
  table.print(ctx.out, !noLegend);
  return kExitOk;
}

}  // namespace ferry::cli
