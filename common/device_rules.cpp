#include "common/device_rules.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ferry::cgroup {

namespace {

constexpr int64_t kMaxNumber = INT32_MAX;  // a BPF immediate; majors have 12 bits, minors 20

bool matches(int64_t rule, int64_t value) { return rule == -1 || value == -1 || rule == value; }
bool covers(int64_t rule, int64_t value) { return rule == -1 || rule == value; }

std::string number(int64_t n) { return n < 0 ? "*" : std::to_string(n); }

std::string accessText(unsigned access) {
  std::string out;
  if (access & kDeviceRead) out += 'r';
  if (access & kDeviceWrite) out += 'w';
  if (access & kDeviceMknod) out += 'm';
  return out;
}

std::string describe(const DeviceRule& r) {
  return std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " +
         accessText(r.access);
}

}  // namespace

DeviceRule DeviceRule::fromOci(bool allow, const std::string& type, int64_t major, int64_t minor,
                               const std::string& access, const std::string& where) {
  DeviceRule r;
  r.allow = allow;
  if (type.empty() || type == "a") {
    r.type = 'a';
  } else if (type == "c" || type == "b") {
    r.type = type[0];
  } else {
    throw Error(Errc::kInvalid, where + ": unknown device type " + quote(type) + " (a, c or b)");
  }
  for (int64_t n : {major, minor}) {
    if (n < -1 || n > kMaxNumber) {
      throw Error(Errc::kInvalid, where + ": device number " + std::to_string(n) +
                                      " out of range (-1 for any, else 0 to 2147483647)");
    }
  }
  r.major = major;
  r.minor = minor;
  if (!access.empty()) {
    r.access = 0;
    for (char c : access) {
      if (c == 'r') {
        r.access |= kDeviceRead;
      } else if (c == 'w') {
        r.access |= kDeviceWrite;
      } else if (c == 'm') {
        r.access |= kDeviceMknod;
      } else {
        throw Error(Errc::kInvalid,
                    where + ": device access " + quote(access) + " is not made of r, w and m");
      }
    }
  }
  return r;
}

DevicePolicy DevicePolicy::defaults() {
  DevicePolicy p;
  for (auto [major, minor] : std::initializer_list<std::pair<int64_t, int64_t>>{
           {1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}, {136, -1}}) {
    p.allowEntry(DeviceRule{true, 'c', major, minor, kDeviceAll});
  }
  return p;
}

void DevicePolicy::allowEntry(DeviceRule r) {
  r.allow = true;
  if (r.access == 0) return;
  for (DeviceRule& e : entries_) {
    if (e.type == r.type && e.major == r.major && e.minor == r.minor) {
      e.access |= r.access;
      return;
    }
  }
  entries_.push_back(r);
}

void DevicePolicy::add(const DeviceRule& rule, const std::string& where) {
  for (char type : {'c', 'b'}) {
    if (rule.type != 'a' && rule.type != type) continue;
    DeviceRule r = rule;
    r.type = type;
    if (r.allow) {
      allowEntry(r);
      continue;
    }
    for (DeviceRule& e : entries_) {
      if (e.type != type || !matches(r.major, e.major) || !matches(r.minor, e.minor) ||
          (e.access & r.access) == 0) {
        continue;
      }
      if (!covers(r.major, e.major) || !covers(r.minor, e.minor)) {
        throw Error(Errc::kUnsupported, where + ": cannot deny " + describe(r) +
                                            " inside the allowed " + describe(e) +
                                            " (only a deny covering whole allowed entries)");
      }
      e.access &= ~r.access;
    }
    std::erase_if(entries_, [](const DeviceRule& e) { return e.access == 0; });
  }
}

void DevicePolicy::merge(const DevicePolicy& other) {
  for (const DeviceRule& e : other.entries_) allowEntry(e);
}

bool DevicePolicy::allows(char type, uint32_t major, uint32_t minor, unsigned access) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const DeviceRule& e) {
    return e.type == type && covers(e.major, major) && covers(e.minor, minor) &&
           (access & ~e.access) == 0;
  });
}

std::vector<std::string> DevicePolicy::v1Lines() const {
  std::vector<std::string> out;
  for (const DeviceRule& e : entries_) out.push_back(describe(e));
  return out;
}

}  // namespace ferry::cgroup
