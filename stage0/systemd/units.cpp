#include "stage0/systemd/units.hpp"

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

namespace ferry::systemd {

namespace {

constexpr const char* kManager = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";

// Collects every JobRemoved the manager sends while it exists: (job path → result).
class JobWatch {
 public:
  explicit JobWatch(Bus& bus) : bus_(bus) {
    int r = sd_bus_match_signal(bus.get(), &slot_, kManager, kManagerPath, kManagerIface,
                                "JobRemoved", &JobWatch::onSignal, this);
    if (r < 0) throwErrno(-r, "watch the manager's jobs");
  }
  ~JobWatch() { sd_bus_slot_unref(slot_); }
  JobWatch(const JobWatch&) = delete;
  JobWatch& operator=(const JobWatch&) = delete;

  // Processes the bus until the job ended; returns its result ("done", "failed", …).
  std::string wait(const std::string& job) {
    for (;;) {
      if (auto it = results_.find(job); it != results_.end()) return it->second;
      int r = sd_bus_process(bus_.get(), nullptr);
      if (r < 0) throwErrno(-r, "read the bus");
      if (r > 0) continue;
      r = sd_bus_wait(bus_.get(), UINT64_MAX);
      if (r < 0 && r != -EINTR) throwErrno(-r, "wait on the bus");
    }
  }

 private:
  static int onSignal(sd_bus_message* m, void* self, sd_bus_error*) {
    uint32_t id = 0;
    const char *path = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read_basic(m, 'u', &id) < 0 ||
        sd_bus_message_read_basic(m, 'o', &path) < 0 ||
        sd_bus_message_read_basic(m, 's', &unit) < 0 ||
        sd_bus_message_read_basic(m, 's', &result) < 0) {
      return 0;
    }
    static_cast<JobWatch*>(self)->results_[path] = result;
    return 0;
  }

  Bus& bus_;
  sd_bus_slot* slot_ = nullptr;
  std::map<std::string, std::string> results_;
};

void finishJob(JobWatch& watch, const std::string& job, const std::string& what,
               const std::string& unit) {
  std::string result = watch.wait(job);
  if (result == "done") return;
  std::string hint = result == "failed" || result == "dependency"
                         ? " (systemctl status " + unit + " tells why)"
                         : "";
  throw Error(Errc::kIo, "cannot " + what + ": its job ended " + quote(result) + hint);
}

std::string unitPath(Bus& bus, const std::string& name) {
  Reply r = bus.call(
      kManager, kManagerPath, kManagerIface, "GetUnit", [&](Writer& w) { w.str(name); },
      "find unit " + quote(name));
  return r.objectPath();
}

}  // namespace

void startTransientUnit(Bus& bus, const TransientUnit& u) {
  bool service = u.name.ends_with(".service");
  JobWatch watch(bus);
  std::string what = "start unit " + quote(u.name);
  Reply r = bus.call(
      kManager, kManagerPath, kManagerIface, "StartTransientUnit",
      [&](Writer& w) {
        w.str(u.name).str("fail");
        w.open('a', "(sv)");
        if (!u.description.empty()) {
          w.property("Description", "s", [&](Writer& v) { v.str(u.description); });
        }
        if (!u.slice.empty()) w.property("Slice", "s", [&](Writer& v) { v.str(u.slice); });
        w.property("Delegate", "b", [&](Writer& v) { v.boolean(u.delegate); });
        w.property("KillMode", "s", [&](Writer& v) { v.str(u.killMode); });
        if (u.memoryMax) w.property("MemoryMax", "t", [&](Writer& v) { v.u64(*u.memoryMax); });
        if (u.cpuQuotaPerSecUSec) {
          w.property("CPUQuotaPerSecUSec", "t", [&](Writer& v) { v.u64(*u.cpuQuotaPerSecUSec); });
        }
        if (u.tasksMax) w.property("TasksMax", "t", [&](Writer& v) { v.u64(*u.tasksMax); });
        if (u.timeoutStopUSec) {
          w.property("TimeoutStopUSec", "t", [&](Writer& v) { v.u64(*u.timeoutStopUSec); });
        }
        for (const auto& dep : {std::pair{"Wants", &u.wants}, std::pair{"Requires", &u.requires_},
                                std::pair{"After", &u.after}}) {
          const std::vector<std::string>* list = dep.second;
          if (list->empty()) continue;
          w.property(dep.first, "as", [list](Writer& v) {
            v.open('a', "s");
            for (const auto& n : *list) v.str(n);
            v.close();
          });
        }
        if (u.collectInactiveOrFailed) {
          w.property("CollectMode", "s", [&](Writer& v) { v.str("inactive-or-failed"); });
        }
        if (service) {
          w.property("Type", "s", [&](Writer& v) { v.str(u.serviceType); });
          if (!u.notifyAccess.empty()) {
            w.property("NotifyAccess", "s", [&](Writer& v) { v.str(u.notifyAccess); });
          }
          if (!u.successExitStatus.empty()) {
            w.property("SuccessExitStatus", "(aiai)", [&](Writer& v) {
              v.open('r', "aiai").open('a', "i");
              for (int32_t c : u.successExitStatus) v.i32(c);
              v.close().open('a', "i").close().close();
            });
          }
          if (!u.environment.empty()) {
            w.property("Environment", "as", [&](Writer& v) {
              v.open('a', "s");
              for (const auto& e : u.environment) v.str(e);
              v.close();
            });
          }
          w.property("ExecStart", "a(sasb)", [&](Writer& v) {
            v.open('a', "(sasb)").open('r', "sasb").str(u.execStart.at(0));
            v.open('a', "s");
            for (const auto& a : u.execStart) v.str(a);
            v.close().boolean(false).close().close();
          });
        } else {
          w.property("PIDs", "au", [&](Writer& v) {
            v.open('a', "u");
            for (uint32_t p : u.pids) v.u32(p);
            v.close();
          });
        }
        w.close();
        w.open('a', "(sa(sv))").close();
      },
      what);
  finishJob(watch, r.objectPath(), what, u.name);
}

void stopUnit(Bus& bus, const std::string& name) {
  JobWatch watch(bus);
  std::string what = "stop unit " + quote(name);
  std::string job;
  try {
    Reply r = bus.call(
        kManager, kManagerPath, kManagerIface, "StopUnit",
        [&](Writer& w) { w.str(name).str("replace"); }, what);
    job = r.objectPath();
  } catch (const BusError& e) {
    if (e.name() == "org.freedesktop.systemd1.NoSuchUnit") return;
    throw;
  }
  finishJob(watch, job, what, name);
}

void killUnit(Bus& bus, const std::string& name, const char* who, int signal) {
  bus.call(
      kManager, kManagerPath, kManagerIface, "KillUnit",
      [&](Writer& w) { w.str(name).str(who).i32(signal); }, "kill unit " + quote(name));
}

std::optional<std::string> unitActiveState(Bus& bus, const std::string& name) {
  std::string path;
  try {
    path = unitPath(bus, name);
  } catch (const BusError& e) {
    if (e.name() == "org.freedesktop.systemd1.NoSuchUnit") return std::nullopt;
    throw;
  }
  return bus.stringProperty(kManager, path.c_str(), "org.freedesktop.systemd1.Unit", "ActiveState");
}

bool validUnitName(std::string_view name, std::string_view suffix) {
  if (name.size() > 255 || !name.ends_with(suffix) || name.size() == suffix.size()) return false;
  for (char c : name.substr(0, name.size() - suffix.size())) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> unitOfPid(pid_t pid) {
  char* unit = nullptr;
  if (sd_pid_get_unit(pid, &unit) < 0 || unit == nullptr) return std::nullopt;
  std::string out(unit);
  std::free(unit);
  return out;
}

bool booted() { return ::access("/run/systemd/system/", F_OK) == 0; }

}  // namespace ferry::systemd
