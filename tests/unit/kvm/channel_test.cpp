// The kvm stage1's channel frames (stage1/kvm/channel.hpp): what one end writes the other reads
// back whole, however the stream is cut; a header announcing more than kMaxPayload stops the
// reader (a guest cannot make the host buffer without bound).
#include "stage1/kvm/channel.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace ferry::kvm {
namespace {

TEST(KvmChannel, RoundTripsFramesCutAnywhere) {
  std::string stream = encodeFrame(FrameType::kStdout, 0, "hello") +
                       encodeFrame(FrameType::kEnterExit, 7, "5") +
                       encodeFrame(FrameType::kReady, 0, "");
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameReader r;
    std::vector<Frame> got;
    r.append(stream.substr(0, cut));
    while (auto f = r.next()) got.push_back(*f);
    r.append(stream.substr(cut));
    while (auto f = r.next()) got.push_back(*f);
    ASSERT_EQ(got.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(got[0].type, FrameType::kStdout);
    EXPECT_EQ(got[0].data, "hello");
    EXPECT_EQ(got[1].type, FrameType::kEnterExit);
    EXPECT_EQ(got[1].session, 7u);
    EXPECT_EQ(got[1].data, "5");
    EXPECT_EQ(got[2].type, FrameType::kReady);
    EXPECT_TRUE(got[2].data.empty());
    EXPECT_FALSE(r.bad());
  }
}

TEST(KvmChannel, OversizedHeaderStopsTheReader) {
  std::string header = encodeFrame(FrameType::kStdout, 0, "");
  uint32_t size = kMaxPayload + 1;
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  FrameReader r;
  r.append(header + encodeFrame(FrameType::kExit, 0, "0"));
  EXPECT_FALSE(r.next().has_value());
  EXPECT_TRUE(r.bad());
  EXPECT_FALSE(r.next().has_value());
}

TEST(KvmChannel, WriteFrameSplitsLongPayloads) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string big(kMaxPayload + 100, 'x');
  // A pipe holds 64 KiB by default: read on another end while writing.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(p[0]);
    ::_exit(writeFrame(p[1], FrameType::kStderr, 3, big) ? 0 : 1);
  }
  ::close(p[1]);
  FrameReader r;
  std::string data;
  size_t frames = 0;
  while (r.fill(p[0]) > 0) {
    while (auto f = r.next()) {
      EXPECT_EQ(f->type, FrameType::kStderr);
      EXPECT_EQ(f->session, 3u);
      data += f->data;
      ++frames;
    }
  }
  ::close(p[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(frames, 2u);
  EXPECT_EQ(data, big);
}

}  // namespace
}  // namespace ferry::kvm
