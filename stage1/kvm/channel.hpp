// The kvm stage1's channel (stage1/ABI.md §4 "kvm"): one virtio-serial port between the host's
// run entrypoint (a unix socket that QEMU connects to) and the guest's /init (the port
// /dev/vportNpM named kChannelName). A stream of frames, each a 9-byte header — payload length
// (uint32, little endian, at most kMaxPayload), type (uint8), session (uint32, little endian; 0
// for the pod, an enter session's number otherwise) — then the payload. No allocation-free
// promise: both ends are ordinary processes (not a pod's exec path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::kvm {

inline constexpr const char* kChannelName = "dev.ferry.channel";
inline constexpr size_t kHeaderSize = 9;
inline constexpr size_t kMaxPayload = 64 * 1024;

enum class FrameType : uint8_t {
  // guest → host
  kHello = 1,     // the guest's /init runs; payload: its uptime in seconds (text)
  kStdout = 2,    // the pod init's stdout bytes
  kStderr = 3,    // its stderr bytes
  kReady = 4,     // the pod init created `ready` (every app started)
  kExit = 5,      // the pod init ended; payload: the pod's exit code (decimal)
  kFailure = 6,   // the guest could not run the pod; payload: one line
  kTerminal = 7,  // --interactive on a terminal: the app's pty is attached (its output comes as
                  // kStdout, the init's and stage2's messages as kStderr)
  // host → guest
  kSignal = 16,   // payload: a signal number (decimal) for the pod init
  kStdin = 17,    // --interactive: the pod's input bytes; an empty payload is the end of input
  kWinsize = 18,  // --interactive on a terminal: "ROWS COLUMNS" (decimal) of the caller's
  // enter (session ≠ 0): host → guest kEnterStart (payload: JSON {"app":…,"argv":[…]}, and on
  // a terminal "tty": true, "rows", "cols", "term": the command then gets a pty in the guest),
  // kEnterStdin (bytes; an empty payload is the end of input); guest → host kEnterStdout,
  // kEnterStderr, then kEnterExit (decimal status) which ends the session.
  kEnterStart = 32,
  kEnterStdin = 33,
  kEnterStdout = 34,
  kEnterStderr = 35,
  kEnterExit = 36,
  // enter on a terminal (kEnterStart's "tty": true): host → guest "ROWS COLUMNS" of the
  // caller's terminal, sent on SIGWINCH (the first size comes in kEnterStart).
  kEnterWinsize = 37,
  // The metadata service (--mds-register), its connections relayed (stream.hpp): guest → host
  // kMdsOpen (an app connected to the guest's 127.0.0.1:<port>; session: the guest's number for
  // it), then both ways kMdsData (bytes) and kMdsClose (that side's connection ended: the other
  // closes its own once what it holds is written).
  kMdsOpen = 48,
  kMdsData = 49,
  kMdsClose = 50,
};

struct Frame {
  FrameType type{};
  uint32_t session = 0;
  std::string data;
};

// The header and payload as one buffer.
std::string encodeFrame(FrameType type, uint32_t session, std::string_view data);

// Writes a whole frame to `fd` (blocking or not: EAGAIN waits with poll); payloads longer than
// kMaxPayload go as several frames. false with errno set when the other end is gone.
bool writeFrame(int fd, FrameType type, uint32_t session, std::string_view data) noexcept;

// Accumulates what is read from the channel and cuts it into frames.
class FrameReader {
 public:
  // Reads what `fd` has (one read). >0: bytes added; 0: end of stream; -1: errno (EAGAIN: none).
  long fill(int fd) noexcept;
  void append(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame, or nullopt. A header announcing more than kMaxPayload makes the
  // stream bad(): nothing more is returned.
  std::optional<Frame> next();
  bool bad() const { return bad_; }

 private:
  std::string buf_;
  size_t at_ = 0;
  bool bad_ = false;
};

}  // namespace ferry::kvm
