#include "stage1/kvm/channel.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::kvm {

namespace {

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool writeAllFd(int fd, const char* data, size_t size) noexcept {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

std::string encodeFrame(FrameType type, uint32_t session, std::string_view data) {
  std::string out;
  out.reserve(kHeaderSize + data.size());
  putU32(out, static_cast<uint32_t>(data.size()));
  out.push_back(static_cast<char>(type));
  putU32(out, session);
  out.append(data);
  return out;
}

bool writeFrame(int fd, FrameType type, uint32_t session, std::string_view data) noexcept {
  try {
    do {
      std::string_view part = data.substr(0, kMaxPayload);
      data.remove_prefix(part.size());
      std::string frame = encodeFrame(type, session, part);
      if (!writeAllFd(fd, frame.data(), frame.size())) return false;
    } while (!data.empty());
    return true;
  } catch (...) {
    errno = ENOMEM;
    return false;
  }
}

long FrameReader::fill(int fd) noexcept {
  char buf[16384];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    try {
      buf_.append(buf, static_cast<size_t>(n));
    } catch (...) {
      errno = ENOMEM;
      return -1;
    }
  }
  return n;
}

std::optional<Frame> FrameReader::next() {
  if (bad_ || buf_.size() - at_ < kHeaderSize) return std::nullopt;
  uint32_t size = getU32(buf_.data() + at_);
  if (size > kMaxPayload) {
    bad_ = true;
    return std::nullopt;
  }
  if (buf_.size() - at_ < kHeaderSize + size) return std::nullopt;
  Frame f;
  f.type = static_cast<FrameType>(static_cast<unsigned char>(buf_[at_ + 4]));
  f.session = getU32(buf_.data() + at_ + 5);
  f.data.assign(buf_, at_ + kHeaderSize, size);
  at_ += kHeaderSize + size;
  if (at_ == buf_.size()) {
    buf_.clear();
    at_ = 0;
  } else if (at_ > (1u << 20)) {
    buf_.erase(0, at_);
    at_ = 0;
  }
  return f;
}

}  // namespace ferry::kvm
