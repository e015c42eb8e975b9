#include "common/digest.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ferry {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Digest::of(DigestAlgorithm::kSha256, "abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Digest::of(DigestAlgorithm::kSha512, "").hex().substr(0, 16), "cf83e1357eefb8bd");
}

TEST(Digest, StreamingEqualsOneShot) {
  Hasher h(DigestAlgorithm::kSha256);
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finishHex(), Digest::of(DigestAlgorithm::kSha256, "abc").hex());
}

TEST(Digest, ParseValidates) {
  auto d = Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(d.algorithm(), DigestAlgorithm::kSha256);
  EXPECT_THROW(Digest::parse("sha256:BA7816"), Error);
  EXPECT_THROW(Digest::parse("nohex"), Error);
  EXPECT_THROW(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e"), Error);
}

}  // namespace
}  // namespace ferry
