// Byte streams carried over the kvm channel (channel.hpp) by session: each end holds its own
// connection for a session (a non-blocking socket), what it reads goes to the other end as data
// frames, the data frames it gets are written to it (queued while it cannot take them), and the
// end of either connection is a close frame, after which the other end writes what it holds and
// closes its own. Used for the metadata service's connections (kMdsData, kMdsClose).
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stage1/kvm/channel.hpp"

namespace ferry::kvm {

class Streams {
 public:
  Streams(FrameType data, FrameType close) : data_(data), close_(close) {}
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;
  ~Streams();

  // A new session's connection (made non-blocking here; owned from now on).
  void add(uint32_t session, int fd);
  bool has(uint32_t session) const { return streams_.count(session) != 0; }
  size_t size() const { return streams_.size(); }

  // A frame of the other end for `session` (data or close); other sessions' are ignored.
  void onFrame(int channel, const Frame& f);

  // The connections to poll, appended to `p`; then handle() with the same vector and the index
  // of the first one.
  void poll(std::vector<pollfd>& p);
  void handle(int channel, const std::vector<pollfd>& p, size_t first);

  // Every connection closed (the other end is told).
  void closeAll(int channel);

 private:
  struct Stream {
    int fd = -1;
    std::string pending;
    bool closing = false;  // the other end's connection ended: close once pending is written
  };
  void flush(int channel, uint32_t session, Stream& s);
  void end(int channel, uint32_t session, bool tell);

  FrameType data_, close_;
  std::map<uint32_t, Stream> streams_;
  std::vector<uint32_t> polled_;
};

}  // namespace ferry::kvm
