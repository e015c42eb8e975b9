#include "stage1/kvm/mds.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "common/error.hpp"
#include "common/mds_client.hpp"
#include "stage1/common/net.hpp"

namespace ferry::stage1::kvm {

namespace {

// Connections relayed at once: a guest opening more gets a kMdsClose for each.
constexpr size_t kMaxConnections = 64;

// `fn` in a thread of its own whose network namespace is `netns` (or a new one when netns is
// -1): setns and unshare change only the calling thread, and the sockets it makes stay in that
// namespace.
template <typename Fn>
void inNetns(int netns, Fn fn) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      if (netns < 0 ? ::unshare(CLONE_NEWNET) != 0 : ::setns(netns, CLONE_NEWNET) != 0) {
        throwErrno(netns < 0 ? "create a network namespace for the metadata service"
                             : "join the metadata service's network namespace");
      }
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

void MdsRelay::start(const std::filesystem::path& podDir, const RuntimeOptions& rt) {
  if (!rt.mds) return;
  port_ = rt.mds->port;
  UniqueFd listener;
  inNetns(-1, [&] {
    loopbackUp();
    netns_ = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!netns_) throwErrno("open the metadata service's network namespace");
    listener = mds::listenInPod(port_);
  });
  registration_ = mds::registerPod(
      rt.mds->socket, mds::registrationFromPodDir(podDir, rt.uuid, rt.mds->token), listener.get());
}

void MdsRelay::open(int channel, uint32_t session) {
  if (!registration_ || streams_.has(session)) return;
  if (streams_.size() >= kMaxConnections) {
    ferry::kvm::writeFrame(channel, ferry::kvm::FrameType::kMdsClose, session, "");
    return;
  }
  UniqueFd conn;
  try {
    inNetns(netns_.get(), [&] {
      conn = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!conn) throwErrno("create a socket");
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throwErrno("connect to the metadata service");
      }
    });
  } catch (const std::exception&) {
    ferry::kvm::writeFrame(channel, ferry::kvm::FrameType::kMdsClose, session, "");
    return;
  }
  streams_.add(session, conn.release());
}

void MdsRelay::stop() {
  if (!registration_) return;
  streams_.closeAll(-1);
  try {
    mds::unregisterPod(std::move(registration_));
  } catch (const std::exception&) {
    // The service went first: nothing to unregister from.
  }
  registration_.reset();
}

}  // namespace ferry::stage1::kvm
