#include "common/digest.hpp"

#include <openssl/evp.h>

#include "common/error.hpp"

namespace ferry {

std::string_view algorithmName(DigestAlgorithm a) {
  return a == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

size_t hexLength(DigestAlgorithm a) { return a == DigestAlgorithm::kSha256 ? 64 : 128; }

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestAlgorithm a) : algorithm_(a), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  const EVP_MD* md = a == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, md, nullptr) != 1) {
    throw Error(Errc::kIo, "cannot initialize " + std::string(algorithmName(a)) + " digest");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
  if (size != 0 && EVP_DigestUpdate(ctx_->md, data, size) != 1) {
    throw Error(Errc::kIo, "cannot update digest");
  }
}

std::string Hasher::finishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out, &len) != 1) {
    throw Error(Errc::kIo, "cannot finish digest");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return hex;
}

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Digest::Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {
  if (hex_.size() != hexLength(a) || !isLowerHex(hex_)) {
    throw Error(Errc::kInvalid, "invalid " + std::string(algorithmName(a)) + " digest " +
                                    quote(hex_) + ": want " + std::to_string(hexLength(a)) +
                                    " lowercase hex digits");
  }
}

Digest Digest::parse(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    throw Error(Errc::kInvalid, "invalid digest " + quote(s) + ": want algorithm:hex");
  }
  auto alg = s.substr(0, colon);
  DigestAlgorithm a;
  if (alg == "sha256") {
    a = DigestAlgorithm::kSha256;
  } else if (alg == "sha512") {
    a = DigestAlgorithm::kSha512;
  } else {
    throw Error(Errc::kUnsupported, "not supported: digest algorithm " + quote(alg));
  }
  return Digest(a, std::string(s.substr(colon + 1)));
}

Digest Digest::of(DigestAlgorithm a, std::string_view data) {
  Hasher h(a);
  h.update(data);
  return Digest(a, h.finishHex());
}

std::string Digest::str() const { return std::string(algorithmName(algorithm_)) + ":" + hex_; }

}  // namespace ferry
