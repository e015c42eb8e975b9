#include "formats/appc/capabilities.hpp"

#include "common/capabilities.hpp"

namespace ferry::appc {

const std::vector<std::string_view>& linuxCapabilities() { return linuxCapabilityNames(); }

std::optional<int> capabilityNumber(std::string_view name) { return linuxCapabilityNumber(name); }

const std::vector<std::string_view>& defaultCapabilities() {
  static const std::vector<std::string_view> kDefault = {
      "CAP_AUDIT_WRITE", "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_KILL",        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_NET_BIND_SERVICE", "CAP_SETUID",
      "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETFCAP",      "CAP_SYS_CHROOT",
  };
  return kDefault;
}

}  // namespace ferry::appc
