// Which sysctls the kernel keeps per namespace (runc's and Kubernetes' rule): a pod may set
// those, because the value it writes lives in a namespace of its own; every other key is one
// value for the whole host, so a pod setting it changes the host (kernel.core_pattern names a
// program the host kernel runs as root).
//
//   ipc      kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall kernel.shmmax
//            kernel.shmmni kernel.shm_rmid_forced, fs.mqueue.*
//   uts      kernel.hostname kernel.domainname
//   network  net.*  (only with a network namespace of the pod's own; the host's net.* keys
//            outside a private namespace are the host's)
//
// stage0 refuses a key before a pod exists; ferry-stage2 checks again before it writes one, as
// config.json may come from elsewhere.
#pragma once

#include <optional>
#include <string_view>

namespace ferry::oci {

// The OCI namespace type ("ipc", "uts", "network") that holds `key` (dotted, as in
// config.json's linux.sysctl), or nullopt for a key the kernel keeps once for the host (and for
// a malformed key: empty components, '/').
std::optional<std::string_view> sysctlNamespace(std::string_view key);

}  // namespace ferry::oci
