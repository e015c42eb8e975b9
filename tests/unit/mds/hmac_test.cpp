#include "stage0/mds/hmac.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/unit/mds/test_util.hpp"

namespace ferry::mds {
namespace {

std::array<unsigned char, HmacKey::kSize> fixedKey() {
  std::array<unsigned char, HmacKey::kSize> k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(i * 7 + 1);
  return k;
}

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    auto decoded = base64Decode(base64Encode(bytes));
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(n * 37);
  }
}

TEST(Base64, KnownVectors) {  // RFC 4648 §10
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, RejectsNonCanonical) {
  for (const char* bad :
       {"Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zm9v\n", "Zm-v", "=Zm9", "Zg==Zg=="}) {
    EXPECT_FALSE(base64Decode(bad)) << bad;
  }
}

TEST(Hmac, IsHmacSha512OverUuidBytesThenContent) {
  HmacKey key(fixedKey());
  appc::Uuid uuid = appc::Uuid::parse(test::kUuid);
  std::string data(reinterpret_cast<const char*>(uuid.bytes().data()), 16);
  data += "Old MacDonald Had A Farm";
  auto k = fixedKey();
  unsigned char md[64];
  unsigned int len = 0;
  HMAC(EVP_sha512(), k.data(), static_cast<int>(k.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  ASSERT_EQ(len, 64u);
  EXPECT_EQ(key.sign(uuid, "Old MacDonald Had A Farm"),
            base64Encode(std::string(reinterpret_cast<char*>(md), len)));
}

TEST(Hmac, VerifiesOnlyTheSameUuidContentAndKey) {
  HmacKey key(fixedKey());
  appc::Uuid uuid = appc::Uuid::parse(test::kUuid);
  appc::Uuid other = appc::Uuid::parse("00000000-0000-4000-8000-000000000001");
  std::string sig = key.sign(uuid, "content");
  EXPECT_TRUE(key.verify(uuid, "content", sig));
  EXPECT_FALSE(key.verify(uuid, "content!", sig));
  EXPECT_FALSE(key.verify(other, "content", sig));
  EXPECT_FALSE(key.verify(uuid, "content", sig.substr(4)));
  EXPECT_FALSE(key.verify(uuid, "content", "not base64"));
  EXPECT_FALSE(HmacKey::random().verify(uuid, "content", sig));
  std::string flipped = sig;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(key.verify(uuid, "content", flipped));
}

TEST(Hmac, RandomKeysDiffer) {
  appc::Uuid uuid = appc::Uuid::parse(test::kUuid);
  EXPECT_NE(HmacKey::random().sign(uuid, "x"), HmacKey::random().sign(uuid, "x"));
}

}  // namespace
}  // namespace ferry::mds
