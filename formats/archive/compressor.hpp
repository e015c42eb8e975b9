// Compressors behind the Writer (internal): each consumes blocks of the tar stream and hands
// compressed bytes to an output function.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "formats/archive/compression.hpp"

namespace ferry::archive::detail {

class Compressor {
 public:
  using Output = std::function<void(const char* data, size_t size)>;
  virtual ~Compressor() = default;
  Compressor() = default;
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  virtual void compress(std::string_view data) = 0;
  virtual void finish() = 0;
};

// kNone passes bytes through. `workers` > 0 compresses on that many threads (zstd: libzstd's
// workers; gzip: the pigz-style block compressor). Throws Error{kUnsupported} for kBzip2/kXz.
std::unique_ptr<Compressor> makeCompressor(Compression c, int level, int workers,
                                           Compressor::Output out);

}  // namespace ferry::archive::detail
