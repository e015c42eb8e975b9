#include "common/fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ferry {

namespace {
// Room for the most descriptors a message carries; aligned as the cmsg macros need.
union Control {
  cmsghdr header;
  char bytes[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
};
}  // namespace

ssize_t sendWithFds(int socket, std::string_view bytes, std::span<const int> fds) noexcept {
  if (fds.size() > kMaxPassedFds || bytes.empty()) {
    errno = EINVAL;
    return -1;
  }
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  Control control;
  std::memset(&control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

FdMessage receiveWithFds(int socket, char* buf, size_t size, std::span<int> fds) noexcept {
  FdMessage got;
  size_t room = std::min(fds.size(), kMaxPassedFds);
  iovec iov{buf, size};
  Control control;
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (room > 0) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * room);
  }
  do {
    got.bytes = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (got.bytes < 0 && errno == EINTR);
  if (got.bytes < 0) return got;
  got.truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (got.fds < room) {
        fds[got.fds++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  return got;
}

}  // namespace ferry
