#include "common/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/digest.hpp"

namespace ferry {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(toHex(Sha256::of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(toHex(Sha256::of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(toHex(Sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Every length around the block and padding boundaries, fed whole and in uneven pieces, agrees
// with OpenSSL.
TEST(Sha256, AgreesWithOpenSslAtEveryBoundary) {
  std::string data;
  for (size_t n = 0; n < 300; ++n) {
    Hasher ref(DigestAlgorithm::kSha256);
    ref.update(data);
    std::string want = ref.finishHex();
    EXPECT_EQ(toHex(Sha256::of(data)), want) << n;
    Sha256 pieces;
    for (size_t i = 0, step = 1; i < data.size(); i += step, step = step % 7 + 1) {
      pieces.update(std::string_view(data).substr(i, step));
    }
    EXPECT_EQ(toHex(pieces.finish()), want) << n;
    data += static_cast<char>(n * 31 + 7);
  }
}

}  // namespace
}  // namespace ferry
