// Units of systemd's manager (org.freedesktop.systemd1) over a Bus: transient services and
// scopes started with StartTransientUnit, stopped and killed, their state read back.
//
// Every job ferry queues is waited for through the manager's JobRemoved signal (the match is in
// place before the call, so a job that ends at once is not missed): no polling. A job that ends
// in any result but "done" is an error naming the unit and the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stage0/systemd/bus.hpp"

namespace ferry::systemd {

struct TransientUnit {
  std::string name;  // "ferry-<uuid>.service" or ".scope"
  std::string description;
  std::string slice;  // empty: the manager's default
  // A service's ExecStart (argv[0] an absolute path); a scope's processes instead.
  std::vector<std::string> execStart;
  std::vector<uint32_t> pids;
  std::string serviceType = "exec";  // Type= of a service ("notify" waits for READY=1)
  std::string notifyAccess;          // NotifyAccess= (empty: the default)
  bool delegate = true;
  std::string killMode = "mixed";
  std::optional<uint64_t> memoryMax;           // bytes
  std::optional<uint64_t> cpuQuotaPerSecUSec;  // CPUQuota= in µs of cpu time per second
  std::optional<uint64_t> tasksMax;
  std::optional<uint64_t> timeoutStopUSec;
  std::vector<int32_t> successExitStatus;  // SuccessExitStatus= (exit codes)
  std::vector<std::string> environment;    // NAME=VALUE
  bool collectInactiveOrFailed = false;    // CollectMode=inactive-or-failed
  std::vector<std::string> wants;          // Wants=, Requires=, After= (unit names)
  std::vector<std::string> requires_;
  std::vector<std::string> after;
};

// Starts the unit and waits for its start job (mode "fail"). Throws unless the job is "done".
void startTransientUnit(Bus& bus, const TransientUnit& unit);

// Stops the unit and waits for its stop job; a unit that is not loaded is stopped already.
void stopUnit(Bus& bus, const std::string& name);

// Sends `signal` to the unit's processes (who: "main", "control" or "all").
void killUnit(Bus& bus, const std::string& name, const char* who, int signal);

// The unit's ActiveState ("active", "activating", "failed", …); nullopt when not loaded.
std::optional<std::string> unitActiveState(Bus& bus, const std::string& name);

// Whether `name` is a valid unit name of the given suffix (".service", ".scope"): characters
// systemd takes in a unit name, at most 255 bytes.
bool validUnitName(std::string_view name, std::string_view suffix);

// The unit the process belongs to (from its cgroup), nullopt when none.
std::optional<std::string> unitOfPid(pid_t pid);

// Whether the machine runs systemd as its init (sd_booted: /run/systemd/system exists).
bool booted();

}  // namespace ferry::systemd
