#include "formats/oci/blob_io.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/interrupt.hpp"

namespace ferry::oci {

namespace fs = std::filesystem;

fs::path blobPath(const Digest& d) {
  return fs::path("blobs") / std::string(algorithmName(d.algorithm())) / d.hex();
}

BlobWriter::BlobWriter(fs::path root, std::optional<Digest> expected,
                       std::optional<int64_t> expectedSize, DigestAlgorithm algorithm)
    : root_(std::move(root)),
      expected_(std::move(expected)),
      expectedSize_(expectedSize),
      hasher_(expected_ ? expected_->algorithm() : algorithm) {
  tmpPath_ = (root_ / ".blob.tmp-XXXXXX").string();
  int raw = ::mkostemp(tmpPath_.data(), O_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    tmpPath_.clear();
    throwErrno(err, "create temporary blob in " + quote(root_.string()));
  }
  fd_.reset(raw);
  interrupt::track(tmpPath_);
}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : root_(std::move(o.root_)),
      expected_(std::move(o.expected_)),
      expectedSize_(o.expectedSize_),
      hasher_(std::move(o.hasher_)),
      fd_(std::move(o.fd_)),
      tmpPath_(std::move(o.tmpPath_)),
      written_(o.written_),
      trustCaller_(o.trustCaller_) {
  o.tmpPath_.clear();
}

BlobWriter::~BlobWriter() { discard(); }

void BlobWriter::discard() noexcept {
  fd_.reset();
  if (!tmpPath_.empty()) {
    ::unlink(tmpPath_.c_str());
    interrupt::untrack(tmpPath_);
  }
  tmpPath_.clear();
}

void BlobWriter::write(const void* data, size_t size) {
  if (!fd_) throw Error(Errc::kInvalid, "cannot write blob: the writer is closed");
  if (expectedSize_ && written_ + static_cast<int64_t>(size) > *expectedSize_) {
    discard();
    throw Error(Errc::kDigestMismatch,
                "cannot write blob " + (expected_ ? expected_->str() : std::string("")) +
                    ": larger than the expected " + std::to_string(*expectedSize_) + " bytes");
  }
  if (!trustCaller_) hasher_.update(data, size);
  writeAll(fd_.get(), data, size, tmpPath_);
  written_ += static_cast<int64_t>(size);
}

void BlobWriter::trustCallerDigest() {
  if (!expected_ || written_ != 0) {
    throw Error(Errc::kInvalid,
                "cannot trust the caller's digest: no expected digest, or "
                "bytes were written already");
  }
  trustCaller_ = true;
}

BlobInfo BlobWriter::commit() {
  if (!fd_) throw Error(Errc::kInvalid, "cannot commit blob: the writer is closed");
  Digest got = trustCaller_ ? *expected_ : Digest(hasher_.algorithm(), hasher_.finishHex());
  if (expectedSize_ && written_ != *expectedSize_) {
    discard();
    throw Error(Errc::kDigestMismatch, "cannot write blob " + got.str() + ": size " +
                                           std::to_string(written_) + ", expected " +
                                           std::to_string(*expectedSize_));
  }
  if (expected_ && got != *expected_) {
    discard();
    throw Error(Errc::kDigestMismatch,
                "cannot write blob " + expected_->str() + ": content has digest " + got.str());
  }
  try {
    if (::fchmod(fd_.get(), 0644) != 0) throwErrno("chmod " + quote(tmpPath_));
    if (::fsync(fd_.get()) != 0) throwErrno("sync " + quote(tmpPath_));
    fd_.reset();
    fs::path dir = root_ / blobPath(got).parent_path();
    fs::create_directories(dir);
    fs::path target = root_ / blobPath(got);
    if (::rename(tmpPath_.c_str(), target.c_str()) != 0) {
      throwErrno("rename blob to " + quote(target.string()));
    }
    interrupt::untrack(tmpPath_);
    tmpPath_.clear();
    syncDir(dir);
  } catch (...) {
    discard();
    throw;
  }
  return BlobInfo{got, written_};
}

BlobReader::BlobReader(UniqueFd fd, Digest expected, int64_t expectedSize, std::string name)
    : fd_(std::move(fd)),
      expected_(std::move(expected)),
      expectedSize_(expectedSize),
      name_(std::move(name)),
      hasher_(expected_.algorithm()) {}

void BlobReader::mismatch(const std::string& why) const {
  throw Error(Errc::kDigestMismatch,
              "cannot read blob " + expected_.str() + " (" + quote(name_) + "): " + why);
}

void BlobReader::verify() {
  // At the declared size: there must be nothing more, and the bytes must hash to the digest.
  char extra;
  if (readFull(fd_.get(), &extra, 1, name_) != 0) {
    mismatch("larger than the expected " + std::to_string(expectedSize_) + " bytes");
  }
  Digest got(hasher_.algorithm(), hasher_.finishHex());
  if (got != expected_) mismatch("content has digest " + got.str());
  verified_ = true;
  fd_.reset();
}

size_t BlobReader::read(void* data, size_t size) {
  if (verified_) return 0;
  // Never read beyond the declared size, so that a hostile blob costs at most its declared size.
  uint64_t left = static_cast<uint64_t>(expectedSize_ - read_);
  size_t want = size < left ? size : static_cast<size_t>(left);
  size_t got = want == 0 ? 0 : readFull(fd_.get(), data, want, name_);
  if (got > 0) hasher_.update(data, got);
  read_ += static_cast<int64_t>(got);
  if (got < want) {
    mismatch("size " + std::to_string(read_) + ", expected " + std::to_string(expectedSize_));
  }
  if (read_ == expectedSize_) verify();
  return got;
}

std::string BlobReader::readAll(uint64_t maxSize) {
  if (static_cast<uint64_t>(expectedSize_) > maxSize) {
    throw Error(Errc::kLimit, "cannot read blob " + expected_.str() + ": " +
                                  std::to_string(expectedSize_) + " bytes is larger than " +
                                  std::to_string(maxSize));
  }
  std::string out;
  out.resize(static_cast<size_t>(expectedSize_ - read_));
  size_t n = out.empty() ? 0 : read(out.data(), out.size());
  out.resize(n);
  if (!verified_) read(nullptr, 0);
  return out;
}

}  // namespace ferry::oci
