#include "stage2/capability_sets.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <memory>

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/json.hpp"

namespace ferry::stage2 {

namespace {

uint64_t setFrom(const std::optional<std::vector<std::string>>& names, std::string_view set) {
  uint64_t out = 0;
  if (!names) return out;
  for (size_t i = 0; i < names->size(); ++i) {
    std::optional<int> n = linuxCapabilityNumber((*names)[i]);
    if (!n || *n > 63) {
      json::fail(json::index(json::child("process.capabilities", set), i),
                 "unknown capability " + quote((*names)[i]));
    }
    out |= capBit(*n);
  }
  return out;
}

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

}  // namespace

CapabilitySets capabilitySetsFrom(const oci::Capabilities& caps) {
  CapabilitySets s;
  s.bounding = setFrom(caps.bounding, "bounding");
  s.effective = setFrom(caps.effective, "effective");
  s.permitted = setFrom(caps.permitted, "permitted");
  s.inheritable = setFrom(caps.inheritable, "inheritable");
  s.ambient = setFrom(caps.ambient, "ambient");
  return s;
}

std::string capabilityNames(uint64_t set) {
  std::string out;
  const auto& names = linuxCapabilityNames();
  for (int c = 0; c < 64; ++c) {
    if ((set & capBit(c)) == 0) continue;
    if (!out.empty()) out += ' ';
    out += c < static_cast<int>(names.size()) ? std::string(names[c]) : "cap_" + std::to_string(c);
  }
  return out;
}

int lastCapability() { return static_cast<int>(cap_max_bits()) - 1; }

void dropBounding(uint64_t bounding) {
  int last = lastCapability();
  for (int c = 0; c <= last && c < 64; ++c) {
    if (bounding & capBit(c)) continue;
    if (cap_drop_bound(static_cast<cap_value_t>(c)) != 0) {
      throwErrno("drop " + capabilityNames(capBit(c)) + " from the bounding set");
    }
  }
}

void keepCapabilities(bool keep) {
  if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) != 0) throwErrno("set PR_SET_KEEPCAPS");
}

void setCapabilities(const CapabilitySets& sets) {
  int last = lastCapability();
  CapPtr caps(cap_init());
  if (!caps) throwErrno("allocate a capability state");
  std::vector<cap_value_t> eff, perm, inh;
  for (int c = 0; c <= last && c < 64; ++c) {
    if (sets.effective & capBit(c)) eff.push_back(c);
    if (sets.permitted & capBit(c)) perm.push_back(c);
    if (sets.inheritable & capBit(c)) inh.push_back(c);
  }
  auto setFlag = [&](cap_flag_t flag, const std::vector<cap_value_t>& v) {
    if (!v.empty() &&
        cap_set_flag(caps.get(), flag, static_cast<int>(v.size()), v.data(), CAP_SET) != 0) {
      throwErrno("build the capability sets");
    }
  };
  setFlag(CAP_EFFECTIVE, eff);
  setFlag(CAP_PERMITTED, perm);
  setFlag(CAP_INHERITABLE, inh);
  if (cap_set_proc(caps.get()) != 0) {
    int err = errno;
    std::string what = "set the capabilities (effective: " + capabilityNames(sets.effective) +
                       "; permitted: " + capabilityNames(sets.permitted) +
                       "; inheritable: " + capabilityNames(sets.inheritable) + ")";
    throwErrno(err, what);
  }
  if (CAP_AMBIENT_SUPPORTED()) {
    // One prctl (libcap's cap_reset_ambient probes every capability first: 40 system calls
    // more on the exec path).
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
      throwErrno("clear the ambient capabilities");
    }
    for (int c = 0; c <= last && c < 64; ++c) {
      if ((sets.ambient & capBit(c)) == 0) continue;
      if (cap_set_ambient(static_cast<cap_value_t>(c), CAP_SET) != 0) {
        throwErrno("raise " + capabilityNames(capBit(c)) +
                   " in the ambient set (it must be permitted and inheritable too)");
      }
    }
  } else if (sets.ambient != 0) {
    throw Error(Errc::kUnsupported,
                "cannot raise ambient capabilities: the kernel has no ambient set");
  }
}

CapabilitySets currentCapabilities() {
  CapabilitySets s;
  CapPtr caps(cap_get_proc());
  if (!caps) throwErrno("read the capabilities");
  int last = lastCapability();
  for (int c = 0; c <= last && c < 64; ++c) {
    cap_flag_value_t v;
    if (cap_get_flag(caps.get(), c, CAP_EFFECTIVE, &v) == 0 && v) s.effective |= capBit(c);
    if (cap_get_flag(caps.get(), c, CAP_PERMITTED, &v) == 0 && v) s.permitted |= capBit(c);
    if (cap_get_flag(caps.get(), c, CAP_INHERITABLE, &v) == 0 && v) s.inheritable |= capBit(c);
    if (cap_get_bound(c) == 1) s.bounding |= capBit(c);
    if (CAP_AMBIENT_SUPPORTED() && cap_get_ambient(c) == 1) s.ambient |= capBit(c);
  }
  return s;
}

}  // namespace ferry::stage2
