// --interactive in the guest (ferry.interactive=pipe|tty): the host's kStdin frames written to the
// pod init's stdin pipe or to the app's pty master; on a terminal, the console socket on which the
// app's stage2 sends that master (kTerminal) and the init's messages come, and the master's
// output sent back as kStdout.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "common/fs.hpp"
#include "common/pty.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/guest/guest.hpp"

namespace ferry::kvm::guest {

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// What the host sent for the pod's input, as far as its reader takes it now (non-blocking); the
// end of input is the pty's end-of-file character, or the pipe closed.
void flushInput(Console& c) {
  int fd = c.terminal ? c.master : c.input;
  if (fd < 0) return;
  if (c.terminal && c.inputEnded && !c.eofSent) {
    termios t{};
    c.pending.push_back(
        ::tcgetattr(fd, &t) == 0 && t.c_cc[VEOF] != 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04');
    c.eofSent = true;
  }
  while (!c.pending.empty()) {
    ssize_t n = ::write(fd, c.pending.data(), c.pending.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {  // nobody reads the pod's input any more
      c.pending.clear();
      c.inputEnded = c.eofSent = true;
      break;
    }
    c.pending.erase(0, static_cast<size_t>(n));
  }
  if (!c.terminal && c.inputEnded && c.pending.empty()) closeFd(c.input);
}

// The console socket: the app's pty master (kTerminal), and the init's and stage2's messages.
void readConsoleSocket(Console& c) {
  char buf[4096];
  UniqueFd fd;
  ssize_t n = pty::receive(c.socket, buf, sizeof buf, &fd);
  if (n <= 0) {
    closeFd(c.socket);  // every process of the pod closed it
    return;
  }
  std::string_view text(buf, static_cast<size_t>(n));
  unsigned int ptyNumber = 0;
  if (fd && c.master < 0 && ::ioctl(fd.get(), TIOCGPTN, &ptyNumber) == 0) {
    // Its one byte is no text: a read ends with the message that carries descriptors.
    c.master = fd.release();
    ::fcntl(c.master, F_SETFL, O_NONBLOCK);
    text.remove_suffix(1);
    kvm::writeFrame(channel, FrameType::kTerminal, 0, "");
    flushInput(c);
  }
  if (!text.empty()) kvm::writeFrame(channel, FrameType::kStderr, 0, text);
}

void readMaster(Console& c) {
  char buf[16384];
  ssize_t n = ::read(c.master, buf, sizeof buf);
  if (n > 0) {
    kvm::writeFrame(channel, FrameType::kStdout, 0, std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    closeFd(c.master);  // EIO: every slave is closed, the app has ended
  }
}

}  // namespace ferry::kvm::guest
