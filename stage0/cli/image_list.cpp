#include <algorithm>
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

// The fields of `image list` (rkt's names, and ferry's kind and labels): their header, the cell
// of a record, and the order they sort in.
struct Field {
  const char* key;
  const char* header;
  std::string (*cell)(const store::ImageRecord&, bool full);
  // <0, 0, >0
  int (*compare)(const store::ImageRecord&, const store::ImageRecord&);
};

template <typename T>
int cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

std::string labelsAndTags(const store::ImageRecord& r) {
  std::string tags;
  for (const auto& [k, v] : r.labels) tags += (tags.empty() ? "" : ",") + k + "=" + v;
  for (const auto& t : r.tags) tags += (tags.empty() ? "" : ",") + t;
  return tags;
}

const Field kFields[] = {
    {"id", "ID",
     [](const store::ImageRecord& r, bool full) {
       return full ? r.id : r.id.substr(0, r.id.find_first_of("-:") + 1 + 12);
     },
     [](const store::ImageRecord& a, const store::ImageRecord& b) { return cmp(a.id, b.id); }},
    {"kind", "KIND",
     [](const store::ImageRecord& r, bool) { return std::string(store::kindName(r.kind)); },
     [](const store::ImageRecord& a, const store::ImageRecord& b) {
       return cmp(std::string(store::kindName(a.kind)), std::string(store::kindName(b.kind)));
     }},
    {"name", "NAME", [](const store::ImageRecord& r, bool) { return store::displayName(r); },
     [](const store::ImageRecord& a, const store::ImageRecord& b) {
       return cmp(store::displayName(a), store::displayName(b));
     }},
    {"labels", "LABELS/TAGS", [](const store::ImageRecord& r, bool) { return labelsAndTags(r); },
     [](const store::ImageRecord& a, const store::ImageRecord& b) {
       return cmp(labelsAndTags(a), labelsAndTags(b));
     }},
    {"size", "SIZE",
     [](const store::ImageRecord& r, bool full) {
       return full ? std::to_string(r.size) : humanSize(r.size);
     },
     [](const store::ImageRecord& a, const store::ImageRecord& b) { return cmp(a.size, b.size); }},
    {"importtime", "IMPORTED",
     [](const store::ImageRecord& r, bool) { return isoTime(r.importedAt); },
     [](const store::ImageRecord& a, const store::ImageRecord& b) {
       return cmp(a.importedAt, b.importedAt);
     }},
    {"lastused", "LAST USED",
     [](const store::ImageRecord& r, bool) { return isoTime(r.lastUsedAt); },
     [](const store::ImageRecord& a, const store::ImageRecord& b) {
       return cmp(a.lastUsedAt, b.lastUsedAt);
     }},
};

std::string fieldNames() {
  std::string out;
  for (const Field& f : kFields) out += (out.empty() ? "" : ",") + std::string(f.key);
  return out;
}

std::vector<const Field*> parseFields(std::string_view flag, std::string_view text) {
  std::vector<const Field*> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view key = text.substr(pos, comma - pos);
    const Field* found = nullptr;
    for (const Field& f : kFields) {
      if (key == f.key) found = &f;
    }
    if (found == nullptr) {
      throw UsageError("--" + std::string(flag) + ": unknown field " + quote(key) + " (" +
                       fieldNames() + ")");
    }
    out.push_back(found);
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int imageListCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image list [flags]", "List the images in the store.",
                 "NAME is the newest name the image was fetched under, as 'ferry run' takes it\n"
                 "(docker://REPO:TAG, oci:DIR:REF, NAME:VERSION); --format=json lists them all.\n"
                 "Fields: " +
                     fieldNames() + ".");
  addGlobalOptions(p, ctx.global);
  bool noLegend = false;
  p.flag("no-legend", "print no header line", &noLegend);
  bool quiet = false;
  p.flag("quiet", "print only the images' IDs (full), one a line", &quiet);
  p.flag("q", "the same as --quiet", &quiet);
  std::vector<const Field*> fields =
      parseFields("fields", "id,kind,name,labels,size,importtime,lastused");
  p.value("fields", "FIELD,…",
          "the columns, in order (id,kind,name,labels,size,importtime,lastused)",
          [&](std::string_view v) { fields = parseFields("fields", v); });
  std::vector<const Field*> sortBy;
  p.value("sort", "FIELD,…", "sort by these fields (default: the order of import)",
          [&](std::string_view v) { sortBy = parseFields("sort", v); });
  bool descending = false;
  p.value("order", "asc|desc", "the order of --sort (asc)", [&](std::string_view v) {
    if (v != "asc" && v != "desc") throw UsageError("--order: want asc or desc, not " + quote(v));
    descending = v == "desc";
  });
  bool full = false;
  p.flag("full", "full image IDs and sizes in bytes", &full);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  std::vector<store::ImageRecord> images;
  if (storeExists(ctx.global)) images = store::Store::open(ctx.global.dir).listImages();
  if (!sortBy.empty()) {
    std::stable_sort(images.begin(), images.end(),
                     [&](const store::ImageRecord& a, const store::ImageRecord& b) {
                       for (const Field* f : sortBy) {
                         int c = f->compare(a, b);
                         if (c != 0) return descending ? c > 0 : c < 0;
                       }
                       return false;
                     });
  }
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
    ctx.out << json::print(out, true) << "\n";
    return kExitOk;
  }
  if (quiet) {
    for (const auto& r : images) ctx.out << r.id << "\n";
    return kExitOk;
  }
  std::vector<std::string> header;
  for (const Field* f : fields) header.emplace_back(f->header);
  Table table(std::move(header));
  for (const auto& r : images) {
    std::vector<std::string> row;
    for (const Field* f : fields) row.push_back(f->cell(r, full));
    table.add(std::move(row));
  }
  table.print(ctx.out, !noLegend);
  return kExitOk;
}

}  // namespace ferry::cli
