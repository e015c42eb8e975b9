#include "formats/archive/compressor.hpp"

#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace ferry::archive::detail {

namespace {

constexpr size_t kOutSize = size_t{1} << 20;

class NoneCompressor : public Compressor {
 public:
  explicit NoneCompressor(Output out) : out_(std::move(out)) {}
  void compress(std::string_view data) override { out_(data.data(), data.size()); }
  void finish() override {}

 private:
  Output out_;
};

class GzipCompressor : public Compressor {
 public:
  GzipCompressor(int level, Output out) : out_(std::move(out)), buf_(kOutSize) {
    // windowBits 15 + 16: a gzip wrapper with zlib's fixed header (no name, mtime 0).
    if (deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw Error(Errc::kInvalid,
                  "cannot start gzip compression at level " + std::to_string(level));
    }
  }
  ~GzipCompressor() override { deflateEnd(&z_); }

  void compress(std::string_view data) override { run(data, Z_NO_FLUSH); }
  void finish() override { run({}, Z_FINISH); }

 private:
  void run(std::string_view data, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf_.data());
      z_.avail_out = static_cast<uInt>(buf_.size());
      int r = deflate(&z_, flush);
      if (r == Z_STREAM_ERROR) throw Error(Errc::kIo, "cannot compress with gzip");
      size_t produced = buf_.size() - z_.avail_out;
      if (produced > 0) out_(buf_.data(), produced);
      if (flush == Z_FINISH ? r == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) {
        break;
      }
    }
  }

  Output out_;
  std::vector<char> buf_;
  z_stream z_{};
};

// pigz-style parallel gzip: the stream is cut into the blocks the Writer hands over; each is
// deflated on a worker thread as a raw deflate segment primed with the previous 32 KiB
// (deflateSetDictionary) and ended with a sync flush, so segments concatenate into one deflate
// stream; an empty final block, the combined crc32 and the size close the gzip member. The
// bytes depend on the input, the block boundaries and the level only, not on the thread count.
class ParallelGzipCompressor : public Compressor {
 public:
  ParallelGzipCompressor(int level, int threads, Output out) : level_(level), out_(std::move(out)) {
    static const unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    out_(reinterpret_cast<const char*>(kHeader), sizeof kHeader);
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ParallelGzipCompressor() override { stop(); }

  void compress(std::string_view data) override {
    if (data.empty()) return;
    auto job = std::make_shared<Job>();
    job->input.assign(data);
    // The job is primed with the last 32 KiB before it; remember the last 32 KiB after it.
    job->dictionary = dict_;
    constexpr size_t kWindow = 32768;
    if (data.size() >= kWindow) {
      dict_.assign(data.substr(data.size() - kWindow));
    } else {
      dict_.append(data);
      if (dict_.size() > kWindow) dict_.erase(0, dict_.size() - kWindow);
    }
    for (;;) {
      emitReady(false);
      std::unique_lock lock(mu_);
      if (error_) std::rethrow_exception(error_);
      if (order_.size() < 2 * workers_.size() + 2) {
        order_.push_back(job);
        queue_.push_back(job);
        cv_.notify_all();
        break;
      }
      cv_.wait(lock, [&] { return error_ || order_.front()->done; });
    }
    emitReady(false);
  }

  void finish() override {
    emitReady(true);
    static const unsigned char kLast[2] = {0x03, 0x00};  // empty final fixed-Huffman block
    out_(reinterpret_cast<const char*>(kLast), 2);
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(size_ >> (8 * i));
    out_(reinterpret_cast<const char*>(trailer), 8);
  }

 private:
  struct Job {
    std::string input, dictionary, output;
    uLong crc = 0;
    bool done = false;
  };

  void work() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      try {
        deflateJob(*job);
      } catch (...) {
        std::lock_guard lock(mu_);
        error_ = std::current_exception();
      }
      std::lock_guard lock(mu_);
      job->done = true;
      cv_.notify_all();
    }
  }

  void deflateJob(Job& job) {
    z_stream z{};
    if (deflateInit2(&z, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw Error(Errc::kInvalid,
                  "cannot start gzip compression at level " + std::to_string(level_));
    }
    if (!job.dictionary.empty()) {
      deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(job.dictionary.data()),
                           static_cast<uInt>(job.dictionary.size()));
    }
    job.output.resize(deflateBound(&z, job.input.size()) + 16);
    z.next_in = reinterpret_cast<Bytef*>(job.input.data());
    z.avail_in = static_cast<uInt>(job.input.size());
    z.next_out = reinterpret_cast<Bytef*>(job.output.data());
    z.avail_out = static_cast<uInt>(job.output.size());
    int r = deflate(&z, Z_SYNC_FLUSH);
    job.output.resize(z.total_out);
    deflateEnd(&z);
    if (r != Z_OK || z.avail_in != 0) throw Error(Errc::kIo, "cannot compress with gzip");
    job.crc = crc32(0, reinterpret_cast<const Bytef*>(job.input.data()),
                    static_cast<uInt>(job.input.size()));
  }

  // Writes finished jobs in order; with `all`, waits for every job.
  void emitReady(bool all) {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        if (all) cv_.wait(lock, [&] { return order_.empty() || order_.front()->done || error_; });
        if (error_) std::rethrow_exception(error_);
        if (order_.empty() || !order_.front()->done) return;
        job = order_.front();
        order_.pop_front();
        cv_.notify_all();
      }
      out_(job->output.data(), job->output.size());
      crc_ = crc32_combine(crc_, job->crc, static_cast<z_off_t>(job->input.size()));
      size_ += job->input.size();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      queue_.clear();
      cv_.notify_all();
    }
    for (auto& t : workers_) t.join();
  }

  int level_;
  Output out_;
  std::string dict_;
  uLong crc_ = crc32(0, nullptr, 0);
  uint64_t size_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // waiting for a worker
  std::deque<std::shared_ptr<Job>> order_;  // submitted, not yet written
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// gzip through Intel's ISA-L (igzip): several times faster than zlib at its level 1 for a
// similar ratio, which is what makes converting at decompression speed possible. One gzip
// member with ISA-L's generic header (no name, no time), so the output is deterministic.
class IsalGzipCompressor : public Compressor {
 public:
  IsalGzipCompressor(int level, Output out)
      : out_(std::move(out)), buf_(kOutSize), levelBuf_(levelBufSize(level)) {
    isal_deflate_init(&z_);
    z_.level = static_cast<uint32_t>(level);
    z_.level_buf = levelBuf_.empty() ? nullptr : levelBuf_.data();
    z_.level_buf_size = static_cast<uint32_t>(levelBuf_.size());
    z_.gzip_flag = IGZIP_GZIP;
    z_.flush = NO_FLUSH;
  }

  void compress(std::string_view data) override { run(data, false); }
  void finish() override { run({}, true); }

 private:
  static size_t levelBufSize(int level) {
    switch (level) {
      case 0:
        return 0;
      case 1:
        return ISAL_DEF_LVL1_DEFAULT;
      case 2:
        return ISAL_DEF_LVL2_DEFAULT;
      default:
        return ISAL_DEF_LVL3_DEFAULT;
    }
  }
  void run(std::string_view data, bool end) {
    z_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uint32_t>(data.size());
    z_.end_of_stream = end ? 1 : 0;
    for (;;) {
      z_.next_out = reinterpret_cast<uint8_t*>(buf_.data());
      z_.avail_out = static_cast<uint32_t>(buf_.size());
      if (isal_deflate(&z_) != COMP_OK) throw Error(Errc::kIo, "cannot compress with gzip (isa-l)");
      size_t n = buf_.size() - z_.avail_out;
      if (n > 0) out_(buf_.data(), n);
      if (end ? z_.internal_state.state == ZSTATE_END : (z_.avail_in == 0 && z_.avail_out != 0)) {
        break;
      }
    }
  }

  Output out_;
  std::vector<char> buf_;
  std::vector<uint8_t> levelBuf_;
  isal_zstream z_{};
};

class ZstdCompressor : public Compressor {
 public:
  ZstdCompressor(int level, int workers, Output out)
      : out_(std::move(out)), buf_(kOutSize), ctx_(ZSTD_createCCtx()) {
    if (ctx_ == nullptr) throw std::bad_alloc();
    check(ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level), "level");
    check(ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1), "checksum");
    if (workers > 0) check(ZSTD_CCtx_setParameter(ctx_, ZSTD_c_nbWorkers, workers), "workers");
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }

  void compress(std::string_view data) override { run(data, ZSTD_e_continue); }
  void finish() override { run({}, ZSTD_e_end); }

 private:
  static void check(size_t r, const char* what) {
    if (ZSTD_isError(r)) {
      throw Error(Errc::kInvalid,
                  std::string("cannot set zstd ") + what + ": " + ZSTD_getErrorName(r));
    }
  }
  void run(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
      size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left)) {
        throw Error(Errc::kIo,
                    std::string("cannot compress with zstd: ") + ZSTD_getErrorName(left));
      }
      if (out.pos > 0) out_(buf_.data(), out.pos);
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
  }

  Output out_;
  std::vector<char> buf_;
  ZSTD_CCtx* ctx_;
};

}  // namespace

std::unique_ptr<Compressor> makeCompressor(Compression c, int level, int workers,
                                           Compressor::Output out) {
  switch (c) {
    case Compression::kNone:
      return std::make_unique<NoneCompressor>(std::move(out));
    case Compression::kGzip:
      // The default is ISA-L's level 1 (about gzip -1's ratio, many times its speed); an
      // explicit level 1-9 asks for zlib's trade-off at that level.
      if (level == 0) return std::make_unique<IsalGzipCompressor>(1, std::move(out));
      if (workers > 0) {
        return std::make_unique<ParallelGzipCompressor>(level == 0 ? 6 : level, workers,
                                                        std::move(out));
      }
      return std::make_unique<GzipCompressor>(level == 0 ? 6 : level, std::move(out));
    case Compression::kZstd:
      // The default is level 1, as gzip's: a conversion or an export is bound by the
      // compressor, and level 1 keeps it at the speed of decompressing and hashing the input
      // (level 3: about a third slower for a sixth smaller output; ask for it with a level).
      return std::make_unique<ZstdCompressor>(level == 0 ? 1 : level, workers, std::move(out));
    case Compression::kBzip2:
    case Compression::kXz:
      break;
  }
  throw Error(Errc::kUnsupported, "cannot write " + std::string(compressionName(c)) +
                                      " archives: only gzip, zstd or no compression");
}

}  // namespace ferry::archive::detail
