#include "formats/archive/compressor.hpp"

#include <zlib.h>
#include <zstd.h>

#include <string>
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

std::unique_ptr<Compressor> makeCompressor(Compression c, int level, int zstdWorkers,
                                           Compressor::Output out) {
  switch (c) {
    case Compression::kNone:
      return std::make_unique<NoneCompressor>(std::move(out));
    case Compression::kGzip:
      return std::make_unique<GzipCompressor>(level == 0 ? 6 : level, std::move(out));
    case Compression::kZstd:
      return std::make_unique<ZstdCompressor>(level == 0 ? 3 : level, zstdWorkers, std::move(out));
    case Compression::kBzip2:
    case Compression::kXz:
      break;
  }
  throw Error(Errc::kUnsupported, "cannot write " + std::string(compressionName(c)) +
                                      " archives: only gzip, zstd or no compression");
}

}  // namespace ferry::archive::detail
