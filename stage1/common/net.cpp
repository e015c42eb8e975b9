#include "stage1/common/net.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::stage1 {

// ioctl(SIOCSIFFLAGS) rather than netlink: one interface, one flag.
void loopbackUp() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throwErrno("create a socket to bring the loopback up");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) throwErrno("read the flags of lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) throwErrno("bring lo up");
}

UniqueFd openPodNetns(const std::string& path) {
  UniqueFd netns = openFile(path, O_RDONLY);
  struct stat mine {
  }, theirs{};
  if (::stat("/proc/self/ns/net", &mine) != 0 || ::fstat(netns.get(), &theirs) != 0) {
    throwErrno("stat the network namespaces");
  }
  if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino) {
    throw Error(Errc::kSecurity, "runtime.json netns " + quote(path) +
                                     " is the host's network namespace (that is net \"host\")");
  }
  return netns;
}

}  // namespace ferry::stage1
