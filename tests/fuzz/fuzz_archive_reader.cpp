// The archive Reader on arbitrary bytes, as a possibly compressed tar from a memfd or a pipe:
// every entry is read (its data with both read calls), then finish(). The input is read twice,
// once with readChunk() only and once mixing read() and readChunk(); both passes must agree.
#include <vector>

#include "formats/archive/reader.hpp"
#include "tests/fuzz/archive_fuzz.hpp"

namespace {

using namespace ferry;
using ferry::fuzz::check;

struct Pass {
  std::vector<archive::Entry> entries;
  std::vector<std::string> data;
  archive::ReadResult result;
};

Pass readAll(const uint8_t* data, size_t size, bool pipe, size_t step) {
  Pass p;
  UniqueFd fd = pipe ? fuzz::pipeWith(data, size) : fuzz::memFile(data, size);
  archive::Reader r(std::move(fd), "fuzz input", fuzz::boundedOptions());
  archive::Entry e;
  while (r.next(e)) {
    fuzz::checkEntry(e);
    check(r.remaining() == e.size, "remaining() at the start of an entry", e.path);
    // Skip the data of every third entry: next() must do that.
    if (p.entries.size() % 3 == 2) {
      p.data.emplace_back();
    } else {
      p.data.push_back(fuzz::readData(r, e, step));
    }
    p.entries.push_back(e);
  }
  check(!r.next(e), "next() after the end");
  p.result = r.finish();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<Pass> first;
  if (!fuzz::expect([&] { first = readAll(data, size, /*pipe=*/false, 4096); })) return 0;
  const archive::ReadResult& r = first->result;
  check(r.compressedSize == size, "finish() did not read the whole input");
  check(r.entries >= first->entries.size(), "ReadResult.entries below the entries returned");
  check(r.compressedDigest == Digest::of(DigestAlgorithm::kSha256, fuzz::asText(data, size)),
        "compressed digest");
  if (r.compression == archive::Compression::kNone) {
    check(r.uncompressedSize == size && r.uncompressedDigest == r.compressedDigest,
          "an uncompressed stream hashes differently on both sides");
  }

  std::optional<Pass> second;
  bool ok = fuzz::expect([&] { second = readAll(data, size, /*pipe=*/true, 1 + size % 61); });
  check(ok, "the input reads from a memfd but not from a pipe");
  check(second->entries == first->entries, "entries differ between the two passes");
  check(second->data == first->data, "entry data differs between read() and readChunk()");
  check(second->result.uncompressedDigest == r.uncompressedDigest &&
            second->result.uncompressedSize == r.uncompressedSize,
        "uncompressed digest differs between the two passes");
  return 0;
}
