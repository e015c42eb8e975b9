#include "stage0/fetch/layer_check.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "common/error.hpp"
#include "formats/archive/layer.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::fetch {

LayerCheck::LayerCheck(std::string what, std::string archiveName, std::optional<Digest> diffId)
    : what_(std::move(what)), archiveName_(std::move(archiveName)), diffId_(std::move(diffId)) {
  // A socket pair rather than a pipe: send(MSG_NOSIGNAL) gets EPIPE, not SIGPIPE, when the
  // checker has stopped reading.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throwErrno("create a socket pair to check " + what_);
  }
  in_.reset(fds[0]);
  UniqueFd out(fds[1]);
  thread_ = std::thread([this, out = std::move(out)]() mutable {
    try {
      archive::ReaderOptions ro;
      ro.uncompressedDigest = DigestAlgorithm::kSha256;
      archive::Reader reader(std::move(out), archiveName_, ro);
      archive::ReadResult r = archive::checkLayer(reader);
      uncompressed_ = r.uncompressedDigest;
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

LayerCheck::~LayerCheck() { join(); }

void LayerCheck::join() {
  // Closing our end ends the checker's stream: it finishes (or fails) and returns.
  in_.reset();
  if (thread_.joinable()) thread_.join();
}

void LayerCheck::rethrow() {
  try {
    std::rethrow_exception(error_);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot fetch " + what_ + ": " + e.what());
  }
}

void LayerCheck::write(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(in_.get(), data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        // The checker stopped reading: its error is the story.
        join();
        if (error_) rethrow();
        throw Error(Errc::kInvalid,
                    "cannot fetch " + what_ + ": data after the end of the compressed stream");
      }
      throwErrno("send " + what_ + " to its checker");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void LayerCheck::finish() {
  join();
  if (error_) rethrow();
  if (diffId_ && uncompressed_ != diffId_) {
    throw Error(Errc::kDigestMismatch,
                "cannot fetch " + what_ + ": the uncompressed layer has digest " +
                    (uncompressed_ ? uncompressed_->str() : std::string("?")) +
                    ", the config's rootfs.diff_ids says " + diffId_->str());
  }
}

}  // namespace ferry::fetch
