#include "formats/archive/writer.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/compressor.hpp"
#include "formats/archive/reader.hpp"
#include "formats/archive/tar_header.hpp"

namespace ferry::archive {

namespace {

constexpr size_t kBlock = size_t{1} << 20;  // tar stream is handed on in blocks this large
constexpr size_t kInFlight = 4;             // blocks queued between the two threads

// Hashes blocks on a thread of its own, one at a time: the caller starts a block, works on the
// same bytes (compressing them), then waits for the hash before it reuses the block. An
// image ID is a SHA-512 of the uncompressed stream (no SHA instructions for it, about as slow as
// ISA-L's deflate), so hashing beside the compressor takes it off the writer's critical path.
class HashWorker {
 public:
  explicit HashWorker(Hasher& hasher) : hasher_(hasher), thread_([this] { run(); }) {}
  ~HashWorker() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  void start(std::string_view block) {
    std::lock_guard lock(mu_);
    block_ = block;
    busy_ = true;
    cv_.notify_all();
  }

  // Waits for the block's hash; rethrows its error.
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return done_ || busy_; });
      if (!busy_) return;
      std::string_view block = block_;
      lock.unlock();
      std::exception_ptr error;
      try {
        hasher_.update(block.data(), block.size());
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error && !error_) error_ = error;
      busy_ = false;
      cv_.notify_all();
    }
  }

  Hasher& hasher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string_view block_;
  std::exception_ptr error_;
  bool busy_ = false;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

// The back half of the writer: hashes the tar stream, compresses, hashes and writes the
// output. Runs on the caller's thread or on its own; with compression and an uncompressed
// digest on a pipelined writer, the hash runs on a third thread beside the compressor.
class Sink {
 public:
  Sink(int fd, const WriterOptions& o) : fd_(fd), name_(o.name) {
    if (o.uncompressedDigest) rawHash_.emplace(*o.uncompressedDigest);
    if (o.compressedDigest) outHash_.emplace(*o.compressedDigest);
    compressor_ = detail::makeCompressor(o.compression, o.level, o.workers,
                                         [this](const char* p, size_t n) { output(p, n); });
    if (rawHash_ && o.pipelined && o.compression != Compression::kNone) {
      hashWorker_ = std::make_unique<HashWorker>(*rawHash_);
    }
  }

  void consume(std::string_view block) {
    rawSize_ += block.size();
    if (!hashWorker_) {
      if (rawHash_) rawHash_->update(block.data(), block.size());
      compressor_->compress(block);
      return;
    }
    hashWorker_->start(block);
    try {
      compressor_->compress(block);
    } catch (...) {
      try {
        hashWorker_->wait();  // the block must outlive the hash
      } catch (...) {
      }
      throw;
    }
    hashWorker_->wait();
  }

  WriteResult finish() {
    compressor_->finish();
    hashWorker_.reset();
    WriteResult r;
    r.uncompressedSize = rawSize_;
    r.compressedSize = outSize_;
    if (rawHash_) r.uncompressedDigest = Digest(rawHash_->algorithm(), rawHash_->finishHex());
    if (outHash_) r.compressedDigest = Digest(outHash_->algorithm(), outHash_->finishHex());
    return r;
  }

 private:
  void output(const char* p, size_t n) {
    if (outHash_) outHash_->update(p, n);
    outSize_ += n;
    writeAll(fd_, p, n, name_);
  }

  int fd_;
  std::string name_;
  std::optional<Hasher> rawHash_;
  std::optional<Hasher> outHash_;
  uint64_t rawSize_ = 0;
  uint64_t outSize_ = 0;
  std::unique_ptr<detail::Compressor> compressor_;
  std::unique_ptr<HashWorker> hashWorker_;  // after rawHash_: gone before it
};

// Hands filled blocks to a Sink on a second thread; empty blocks come back for reuse.
class Pipeline {
 public:
  explicit Pipeline(Sink& sink) : sink_(sink), thread_([this] { run(); }) {}
  ~Pipeline() { stop(); }

  // Queues a filled block; returns an empty one (blocks while kInFlight are queued).
  std::string submit(std::string block) {
    std::unique_lock lock(mu_);
    full_.push_back(std::move(block));
    cv_.notify_all();
    cv_.wait(lock, [&] { return error_ || full_.size() < kInFlight; });
    if (error_) std::rethrow_exception(error_);
    std::string b;
    if (!free_.empty()) {
      b = std::move(free_.back());
      free_.pop_back();
    }
    b.clear();
    return b;
  }

  // Waits until every queued block is consumed; rethrows the sink's error.
  void drain() {
    stop();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  void run() {
    for (;;) {
      std::string block;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_ || !full_.empty(); });
        if (full_.empty()) return;
        block = std::move(full_.front());
        full_.pop_front();
      }
      try {
        sink_.consume(block);
      } catch (...) {
        std::lock_guard lock(mu_);
        error_ = std::current_exception();
        full_.clear();
        cv_.notify_all();
        return;
      }
      std::lock_guard lock(mu_);
      free_.push_back(std::move(block));
      cv_.notify_all();
    }
  }

  Sink& sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> full_;
  std::vector<std::string> free_;
  std::exception_ptr error_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace

struct Writer::Impl {
  WriterOptions options;
  Sink sink;
  std::unique_ptr<Pipeline> pipeline;
  std::string block;       // tar stream being filled
  std::string current;     // path of the current entry (for messages)
  uint64_t remaining = 0;  // data bytes the current entry still needs
  uint64_t dataSize = 0;   // data size of the current entry
  bool finished = false;
  bool broken = false;

  Impl(int fd, WriterOptions o) : options(std::move(o)), sink(fd, options) {
    if (options.pipelined) pipeline = std::make_unique<Pipeline>(sink);
    block.reserve(kBlock + 64 * 1024);
  }

  Error error(Errc code, std::string_view cause) const {
    std::string m = "cannot write archive " + quote(options.name);
    if (!current.empty()) m += ": entry " + quote(current);
    m += ": ";
    m += cause;
    return Error(code, m);
  }

  void flush() {
    if (block.empty()) return;
    if (pipeline) {
      block = pipeline->submit(std::move(block));
      block.reserve(kBlock + 64 * 1024);
    } else {
      sink.consume(block);
      block.clear();
    }
  }

  void append(const char* p, size_t n) {
    while (n > 0) {
      size_t room = kBlock > block.size() ? kBlock - block.size() : 0;
      if (room == 0) {
        flush();
        continue;
      }
      size_t k = std::min(room, n);
      block.append(p, k);
      p += k;
      n -= k;
    }
  }

  void endData() {
    if (remaining != 0) {
      throw error(Errc::kInvalid, "short data: " + std::to_string(remaining) + " of " +
                                      std::to_string(dataSize) + " bytes missing");
    }
    size_t pad = detail::paddingFor(dataSize);
    static const char kZeros[detail::kBlockSize] = {};
    append(kZeros, pad);
    dataSize = 0;
  }
};

Writer::Writer(int fd, WriterOptions options)
    : impl_(std::make_unique<Impl>(fd, std::move(options))) {}

Writer::~Writer() = default;

void Writer::add(const Entry& e) {
  Impl& m = *impl_;
  if (m.finished) throw m.error(Errc::kInvalid, "writer already finished");
  m.endData();
  m.current = e.path;
  NormalizedPath np = normalizePath(e.path);
  if (!np.error.empty() || np.path != e.path) {
    throw m.error(Errc::kInvalid, np.error.empty() ? "path is not normalized" : np.error);
  }
  if (e.type == Type::kHardlink) {
    NormalizedPath t = normalizePath(e.linkTarget);
    if (!t.error.empty() || t.path != e.linkTarget) {
      throw m.error(Errc::kInvalid, "hardlink target " + quote(e.linkTarget) + " is not valid");
    }
  }
  if (e.type == Type::kSymlink && e.linkTarget.empty()) {
    throw m.error(Errc::kInvalid, "symlink without a target");
  }
  if (e.type != Type::kFile && e.size != 0) {
    throw m.error(Errc::kInvalid, std::string(typeName(e.type)) + " with data");
  }
  if (e.linkTarget.find('\0') != std::string::npos || e.uname.find('\0') != std::string::npos ||
      e.gname.find('\0') != std::string::npos) {
    throw m.error(Errc::kInvalid, "NUL byte in a name");
  }
  for (const auto& [name, value] : e.xattrs) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      throw m.error(Errc::kUnsupported, "xattr name " + quote(name) + " cannot be stored in pax");
    }
  }
  std::string header;
  detail::appendHeader(e, header);
  m.append(header.data(), header.size());
  m.remaining = m.dataSize = e.size;
}

void Writer::write(const void* data, size_t size) {
  Impl& m = *impl_;
  if (size > m.remaining) {
    throw m.error(Errc::kInvalid,
                  "more data than the declared " + std::to_string(m.dataSize) + " bytes");
  }
  m.append(static_cast<const char*>(data), size);
  m.remaining -= size;
}

void Writer::copyData(Reader& reader) {
  for (;;) {
    std::string_view chunk = reader.readChunk();
    if (chunk.empty()) break;
    write(chunk.data(), chunk.size());
  }
}

void Writer::copyFrom(Reader& reader) {
  Entry e;
  while (reader.next(e)) {
    add(e);
    copyData(reader);
  }
}

WriteResult Writer::finish() {
  Impl& m = *impl_;
  if (m.finished) throw m.error(Errc::kInvalid, "writer already finished");
  m.endData();
  m.current.clear();
  static const char kEnd[2 * detail::kBlockSize] = {};
  m.append(kEnd, sizeof kEnd);
  m.flush();
  m.finished = true;
  if (m.pipeline) m.pipeline->drain();
  return m.sink.finish();
}

}  // namespace ferry::archive
