// The devices a pod may create and open: an allowlist, the same on every cgroup path.
//
// DeviceRule is one OCI `linux.resources.devices` entry (allow or deny; type, major, minor,
// access). DevicePolicy starts by refusing every device and takes rules in order: an allow adds
// an entry, a deny takes access away from the entries it covers. What is left is a plain set of
// allow entries, each of type 'c' or 'b', which both kernels' interfaces can state exactly: the
// v1 devices controller as devices.allow lines (v1Lines), cgroup v2 as a BPF program
// (device_program.hpp). A deny that would cut a hole inside a broader allow (allow c 10:*, then
// deny c 10:200) has no such form and is refused, never approximated. cgroup_devices.hpp puts a
// policy on a cgroup.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::cgroup {

// Access bits, valued as the kernel's cgroup device program sees them (BPF_DEVCG_ACC_*).
inline constexpr unsigned kDeviceMknod = 1;
inline constexpr unsigned kDeviceRead = 2;
inline constexpr unsigned kDeviceWrite = 4;
inline constexpr unsigned kDeviceAll = kDeviceMknod | kDeviceRead | kDeviceWrite;

struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a' (every type), 'c' or 'b'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;  // -1: any
  unsigned access = kDeviceAll;
  friend bool operator==(const DeviceRule&, const DeviceRule&) = default;

  // Validates an OCI rule: type a, c or b; major and minor -1 or in [0, 2^31); access made of
  // r, w and m (empty: all). Error{kInvalid} naming `where` otherwise.
  static DeviceRule fromOci(bool allow, const std::string& type, int64_t major, int64_t minor,
                            const std::string& access, const std::string& where);
};

class DevicePolicy {
 public:
  // Nothing allowed.
  DevicePolicy() = default;
  // The OCI runtimes' default allowlist: null, zero, full, random, urandom, tty (read, write,
  // mknod), ptmx (5:2) and the pty slaves (136:*).
  static DevicePolicy defaults();

  // One rule, after those before it. A deny that only partly covers an allowed entry is an
  // Error{kUnsupported} naming `where`.
  void add(const DeviceRule& rule, const std::string& where = "device rule");
  // Everything `other` allows (a pod's policy is the union of its apps').
  void merge(const DevicePolicy& other);

  bool allows(char type, uint32_t major, uint32_t minor, unsigned access) const;
  // Allow entries only, type 'c' or 'b', none repeated.
  const std::vector<DeviceRule>& entries() const { return entries_; }
  // The entries as v1 devices.allow lines ("c 1:3 rwm", "c 136:* rwm").
  std::vector<std::string> v1Lines() const;

 private:
  void allowEntry(DeviceRule r);
  std::vector<DeviceRule> entries_;
};

}  // namespace ferry::cgroup
