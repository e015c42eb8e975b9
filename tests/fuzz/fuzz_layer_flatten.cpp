// flattenLayers over two small layers (possibly compressed tars). The input is the lower layer,
// the separator below, then the upper layer; without a separator the input is both layers.
// What comes out must be unique paths, no whiteout markers, and each file's data in full.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "formats/archive/layer.hpp"
#include "tests/fuzz/archive_fuzz.hpp"

namespace {

using namespace ferry;
using ferry::fuzz::check;

constexpr std::string_view kSeparator = "\n--ferry-fuzz-layer--\n";

class Sink : public archive::LayerSink {
 public:
  void entry(const archive::Entry& e, archive::Reader& data) override {
    fuzz::checkEntry(e);
    check(!archive::isWhiteout(e.path), "a whiteout marker was passed on", e.path);
    check(paths.insert(e.path).second, "a path was passed on twice", e.path);
    fuzz::readData(data, e, 777);
  }
  std::set<std::string> paths;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all = fuzz::asText(data, size);
  std::string_view lower = all, upper = all;
  if (size_t at = all.find(kSeparator); at != std::string_view::npos) {
    lower = all.substr(0, at);
    upper = all.substr(at + kSeparator.size());
  }
  UniqueFd lowerFd = fuzz::memFile(reinterpret_cast<const uint8_t*>(lower.data()), lower.size());
  UniqueFd upperFd = fuzz::memFile(reinterpret_cast<const uint8_t*>(upper.data()), upper.size());
  std::vector<std::filesystem::path> layers = {
      "/proc/self/fd/" + std::to_string(lowerFd.get()),
      "/proc/self/fd/" + std::to_string(upperFd.get()),
  };
  Sink sink;
  fuzz::expect([&] {
    std::vector<archive::ReadResult> results =
        archive::flattenLayers(layers, sink, fuzz::boundedOptions());
    check(results.size() == 2, "one ReadResult per layer");
    check(results[0].compressedSize == lower.size() && results[1].compressedSize == upper.size(),
          "a layer was not read to its end");
  });
  return 0;
}
