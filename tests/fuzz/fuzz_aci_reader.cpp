// readAci on arbitrary bytes (a possibly compressed tar): the manifest goes to the appc parser,
// every rootfs entry's data is read. What readAci accepts must honour its contract: one
// manifest, rootfs entries relative to rootfs, an image ID that is the sha512 of the tar stream.
#include <set>

#include "formats/appc/image_manifest.hpp"
#include "formats/archive/aci.hpp"
#include "tests/fuzz/archive_fuzz.hpp"

namespace {

using namespace ferry;
using ferry::fuzz::check;

class Visitor : public archive::AciVisitor {
 public:
  void manifest(const std::string& bytes) override {
    check(!haveManifest, "manifest() called twice");
    haveManifest = true;
    manifestBytes = bytes;
    fuzz::expect([&] { appc::ImageManifest::parse(bytes, "fuzz manifest"); });
  }
  void entry(const archive::Entry& e, archive::Reader& data) override {
    fuzz::checkEntry(e);
    check(paths.insert(e.path).second, "rootfs entry given twice", e.path);
    if (e.type == archive::Type::kHardlink) {
      check(!e.linkTarget.empty(), "hardlink to the rootfs itself", e.path);
    }
    fuzz::readData(data, e, 1000);
  }

  bool haveManifest = false;
  std::string manifestBytes;
  std::set<std::string> paths;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  archive::ReaderOptions options = fuzz::boundedOptions();
  options.uncompressedDigest = DigestAlgorithm::kSha512;
  Visitor v;
  fuzz::expect([&] {
    archive::Reader reader(fuzz::memFile(data, size), "fuzz input", options);
    archive::AciInfo info = readAci(reader, v, 64 * 1024);
    check(v.haveManifest && info.manifest == v.manifestBytes, "manifest not handed over");
    check(info.imageId == "sha512-" + info.read.uncompressedDigest->hex(), "image ID");
    check(info.read.compressedSize == size, "readAci did not read the whole input");
  });
  return 0;
}
