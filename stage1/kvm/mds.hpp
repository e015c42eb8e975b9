// The metadata service on kvm (stage1/ABI.md §6, §4 "kvm"): the apps reach it on the guest's
// loopback, where the guest's /init listens on 127.0.0.1:<port> and relays each connection over
// the channel (kMdsOpen, kMdsData, kMdsClose); on the host, the run process registered the pod
// with a socket listening on 127.0.0.1:<port> in a network namespace of its own (nothing else
// is there: the pod's namespace, if any, is QEMU's) and connects to it for each relayed
// connection, which the service accepts as it accepts an ns pod's.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/fs.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/kvm/stream.hpp"

namespace ferry::stage1::kvm {

class MdsRelay {
 public:
  // Registers the pod (runtime.json "mds"); throws the service's refusal or absence.
  void start(const std::filesystem::path& podDir, const RuntimeOptions& rt);
  bool active() const { return static_cast<bool>(registration_); }

  // kMdsOpen from the guest: a connection to the service for `session` (a kMdsClose back when
  // there is none).
  void open(int channel, uint32_t session);
  ferry::kvm::Streams& streams() { return streams_; }

  // Every relayed connection closed and the pod unregistered (synchronously).
  void stop();

 private:
  UniqueFd netns_, registration_;
  uint16_t port_ = 0;
  ferry::kvm::Streams streams_{ferry::kvm::FrameType::kMdsData, ferry::kvm::FrameType::kMdsClose};
};

}  // namespace ferry::stage1::kvm
