// Descriptors over unix sockets (SCM_RIGHTS), for every place ferry passes them: a pty master
// from stage2 to the stage1, the mounts a pod with a user namespace is handed, a pod's network
// namespace to the metadata service. Neither call allocates, so both serve after fork.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string_view>

namespace ferry {

// The most descriptors one message carries here (the kernel's SCM_MAX_FD is 253).
constexpr size_t kMaxPassedFds = 250;

// sendmsg(2) of `bytes` (not empty) with `fds` attached to the first of them, MSG_NOSIGNAL,
// EINTR retried. Returns the bytes sent, or -1 with errno (EINVAL for more than kMaxPassedFds).
ssize_t sendWithFds(int socket, std::string_view bytes, std::span<const int> fds) noexcept;

struct FdMessage {
  ssize_t bytes = -1;      // 0 at end of stream, -1 with errno
  size_t fds = 0;          // how many descriptors landed in the caller's array
  bool truncated = false;  // MSG_TRUNC or MSG_CTRUNC: bytes, or descriptors beyond the array,
                           // were dropped (the kernel closes descriptors that did not fit)
};

// recvmsg(2) of up to `size` bytes, MSG_CMSG_CLOEXEC, EINTR retried; the descriptors that came
// along land in `fds` (at most fds.size(), itself at most kMaxPassedFds), owned by the caller.
FdMessage receiveWithFds(int socket, char* buf, size_t size, std::span<int> fds) noexcept;

}  // namespace ferry
