#include "common/fd_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fs.hpp"

namespace ferry {
namespace {

struct SocketPair {
  UniqueFd a, b;
  SocketPair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
      a.reset(sv[0]);
      b.reset(sv[1]);
    }
  }
};

ino_t inodeOf(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return st.st_ino;
}

TEST(FdPassing, DescriptorsTravelWithTheirBytes) {
  SocketPair s;
  ASSERT_TRUE(s.a && s.b);
  UniqueFd one(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd two(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int sent[] = {one.get(), two.get()};
  ASSERT_EQ(sendWithFds(s.a.get(), "uoc", sent), 3);
  char buf[8];
  int got[4];
  FdMessage m = receiveWithFds(s.b.get(), buf, sizeof buf, got);
  ASSERT_EQ(m.bytes, 3);
  EXPECT_EQ(std::string(buf, 3), "uoc");
  ASSERT_EQ(m.fds, 2u);
  EXPECT_FALSE(m.truncated);
  UniqueFd g0(got[0]), g1(got[1]);
  EXPECT_EQ(inodeOf(g0.get()), inodeOf(one.get()));
  EXPECT_EQ(inodeOf(g1.get()), inodeOf(two.get()));
  EXPECT_EQ(::fcntl(g0.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(FdPassing, MoreDescriptorsThanRoomAreDroppedAndSaidSo) {
  SocketPair s;
  UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int sent[] = {f.get(), f.get(), f.get()};
  ASSERT_EQ(sendWithFds(s.a.get(), "x", sent), 1);
  char buf[4];
  int got[1];
  FdMessage m = receiveWithFds(s.b.get(), buf, sizeof buf, got);
  EXPECT_EQ(m.bytes, 1);
  EXPECT_EQ(m.fds, 1u);
  EXPECT_TRUE(m.truncated);
  ::close(got[0]);
}

TEST(FdPassing, RefusesWhatOneMessageCannotCarry) {
  SocketPair s;
  std::vector<int> many(kMaxPassedFds + 1, 0);
  errno = 0;
  EXPECT_EQ(sendWithFds(s.a.get(), "x", many), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sendWithFds(s.a.get(), "", {}), -1);
  // End of stream: 0 bytes, no descriptor.
  s.a.reset();
  char buf[4];
  int got[1];
  FdMessage m = receiveWithFds(s.b.get(), buf, sizeof buf, got);
  EXPECT_EQ(m.bytes, 0);
  EXPECT_EQ(m.fds, 0u);
}

}  // namespace
}  // namespace ferry
