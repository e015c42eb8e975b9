#include "stage0/systemd/journal_reader.hpp"

#include <systemd/sd-journal.h>

#include <memory>
#include <string_view>

#include "common/error.hpp"

namespace ferry::systemd {

namespace {

std::string_view field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t size = 0;
  if (sd_journal_get_data(j, name, &data, &size) < 0) return {};
  std::string_view v(static_cast<const char*>(data), size);
  size_t eq = v.find('=');
  return eq == std::string_view::npos ? std::string_view() : v.substr(eq + 1);
}

}  // namespace

void printPodJournal(std::ostream& out, const std::string& uuid,
                     const std::optional<std::string>& app, bool prefix, bool follow,
                     const std::function<bool()>& over) {
  sd_journal* raw = nullptr;
  if (int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY); r < 0) {
    throwErrno(-r, "open the journal");
  }
  std::unique_ptr<sd_journal, void (*)(sd_journal*)> j(raw, sd_journal_close);
  std::string podMatch = "FERRY_POD_UUID=" + uuid;
  if (int r = sd_journal_add_match(j.get(), podMatch.data(), podMatch.size()); r < 0) {
    throwErrno(-r, "match the journal on " + podMatch);
  }
  if (app) {
    std::string appMatch = "FERRY_APP=" + *app;
    if (int r = sd_journal_add_match(j.get(), appMatch.data(), appMatch.size()); r < 0) {
      throwErrno(-r, "match the journal on " + appMatch);
    }
  }
  for (;;) {
    bool ended = !follow || over();
    for (;;) {
      int r = sd_journal_next(j.get());
      if (r < 0) throwErrno(-r, "read the journal");
      if (r == 0) break;
      if (prefix) out << "[" << field(j.get(), "FERRY_APP") << "] ";
      out << field(j.get(), "MESSAGE") << "\n";
    }
    out.flush();
    if (ended) return;
    if (int r = sd_journal_wait(j.get(), 250000); r < 0) throwErrno(-r, "wait on the journal");
  }
}

}  // namespace ferry::systemd
